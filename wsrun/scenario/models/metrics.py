"""
A scenario's own metrics (k6's custom metrics): the actions that record them.

The declarations themselves are the scenario's ``metrics:`` (name -> kind); which
action may record which kind is checked against them when the file is loaded
(:mod:`wsrun.scenario.custom_metrics`).
"""

from __future__ import annotations

import math
from typing import Annotated

from pydantic import Field, field_validator

from .. import templates
from .base import _check_template, _Strict

__all__ = ["METRIC_NAME", "Add", "AddOptions", "Increment", "MetricName"]

METRIC_NAME = r"^[a-z_][a-z0-9_]*$"
MetricName = Annotated[str, Field(pattern=METRIC_NAME)]


class Increment(_Strict):
    """Add 1 to a counter the scenario declares."""

    increment: MetricName = Field(
        title="Increment a counter",
        description="Adds 1 to this counter, declared under metrics: (name: counter). Its total so far is read"
        " by its name in templates and conditions; thresholds judge its count and rate.",
        examples=["pongs_answered", "orders_placed"],
    )


class AddOptions(_Strict):
    """Which metric, and the value added to it."""

    metric: MetricName = Field(
        title="Metric",
        description="A metric declared under metrics: (a counter, trend, rate or gauge).",
        examples=["seq_gap", "in_order"],
    )
    value: bool | int | float | str = Field(
        title="Value",
        description="What is added: a counter grows by this number (not negative); a trend gets this number as a"
        " sample; a rate gets true or false (a number: non-zero is true); a gauge takes this number as its"
        ' value. A number, true or false, or exactly one template giving one ("{{ message.depth }}").',
        examples=[1, "{{ message.gap }}", True],
    )

    @field_validator("value")
    @classmethod
    def _a_value(cls, value: bool | float | str) -> bool | float | str:
        if isinstance(value, str):
            _check_template(value)
            if not templates.is_single_template(value):
                raise ValueError(
                    f"{value!r} is text: give a number, true or false, or exactly one template giving one,"
                    ' like "{{ message.n }}"'
                )
        elif isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{value} is not a number a metric can hold: give a finite number")
        return value


class Add(_Strict):
    """Add a value to a metric the scenario declares: a counter's amount, a trend's or rate's sample, a gauge's value."""

    add: AddOptions = Field(
        title="Add to a metric",
        description="Records a value in a metric declared under metrics: a counter grows by it, a trend and a"
        " rate take it as a sample, a gauge takes it as its value.",
        examples=[
            {"metric": "seq_gap", "value": "{{ message.gap }}"},
            {"metric": "in_order", "value": True},
            {"metric": "pongs_answered", "value": 2},
        ],
    )
