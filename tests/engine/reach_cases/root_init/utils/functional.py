def widths(base):
    return [base, base * 2]
