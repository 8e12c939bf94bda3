"""Geometry for the dashboard's server-side SVG charts: numbers in, coordinates out, no CDN."""

from decimal import Decimal


def _nice_ceiling(value):
    """A round number at or above `value` for an axis: 1, 2, 2.5 or 5 × a power of ten."""
    if value <= 0:
        return Decimal(1)
    value = Decimal(value)
    power = Decimal(10) ** (value.adjusted())
    for step in (1, 2, Decimal("2.5"), 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def aging_bars(buckets, *, width=520, height=220, top=26, bottom=34, gap=18):
    """One bar per aging bucket, scaled to the largest; label and amount placed under and over it."""
    count = len(buckets)
    largest = max((b["amount"] for b in buckets), default=0) or Decimal(1)
    bar_width = (width - gap * (count + 1)) / count
    plot = height - top - bottom
    bars = []
    for index, bucket in enumerate(buckets):
        bar_height = float(bucket["amount"] / largest) * plot if bucket["amount"] > 0 else 0
        x = gap + index * (bar_width + gap)
        y = top + plot - bar_height
        bars.append(
            {
                **bucket,
                "x": round(x, 1),
                "y": round(y, 1),
                "width": round(bar_width, 1),
                "height": round(max(bar_height, 2 if bucket["amount"] > 0 else 0), 1),
                "centre": round(x + bar_width / 2, 1),
                "value_y": round(y - 8, 1),
                "label_y": height - bottom + 20,
            }
        )
    return {"width": width, "height": height, "baseline": top + plot, "bars": bars}


def trend_chart(points, *, width=960, height=270, left=56, right=48, top=20, bottom=34):
    """Collections per month as bars (left axis) and DSO as a line (right axis)."""
    count = len(points)
    plot_width = width - left - right
    plot_height = height - top - bottom
    slot = plot_width / count if count else plot_width
    money_top = _nice_ceiling(max((p["collected"] for p in points), default=0))
    dso_values = [p["dso"] for p in points if p["dso"] is not None]
    dso_top = _nice_ceiling(max(dso_values, default=0))

    def y_of(value, ceiling):
        return round(top + plot_height - float(Decimal(value) / ceiling) * plot_height, 1)

    columns, line = [], []
    for index, point in enumerate(points):
        centre = left + slot * index + slot / 2
        bar_width = slot * 0.56
        y = y_of(point["collected"], money_top)
        columns.append(
            {
                **point,
                "x": round(centre - bar_width / 2, 1),
                "y": y,
                "width": round(bar_width, 1),
                "height": round(top + plot_height - y, 1),
                "centre": round(centre, 1),
                "dso_y": y_of(point["dso"], dso_top) if point["dso"] is not None else None,
            }
        )
        if point["dso"] is not None:
            line.append(f"{round(centre, 1)},{y_of(point['dso'], dso_top)}")
    grid = [
        {
            "y": y_of(money_top * share, money_top),
            "money": money_top * share,
            "dso": dso_top * share,
        }
        for share in (Decimal(0), Decimal("0.5"), Decimal(1))
    ]
    return {
        "width": width,
        "height": height,
        "left": left,
        "right": width - right,
        "baseline": top + plot_height,
        "label_y": height - 10,
        "columns": columns,
        "line": " ".join(line),
        "grid": grid,
    }
