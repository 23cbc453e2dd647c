"""Ten trivial steps for the orchestration-overhead benchmark."""


def first():
    return 0


def increment(value):
    return value + 1
