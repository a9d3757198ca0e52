def mean_error(a, b):
    return (a - b).abs().mean()
