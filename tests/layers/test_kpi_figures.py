"""The KPI screen's figures."""

import pytest


@pytest.mark.parametrize(("days", "hourly"), [(1, True), (7, False), (30, False)])
def test_the_trend_is_on_a_date_axis_of_real_local_days_with_digits_only(days, hourly):
    import pandas as pd

    from layers.kpi import trend_figure

    start = pd.Timestamp("2026-11-27", tz="Asia/Shanghai")
    index = pd.date_range(start, periods=24 if hourly else days, freq="h" if hourly else "D")
    trend = pd.DataFrame({"reported": range(len(index)), "closed": range(len(index))}, index=index)
    fig = trend_figure(trend, title="t", names={"reported": "r", "closed": "c"}, hourly=hourly)
    assert fig.data[0].x[0].startswith("2026-11-27") and len(fig.data[0].x) == len(index)
    assert fig.layout.xaxis.type == "date" and "%b" not in fig.layout.xaxis.tickformat
