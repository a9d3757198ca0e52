def cumulative_max(values):
    best = values[0]
    out = []
    for value in values:
        best = max(best, value)
        out.append(best)
    return out
