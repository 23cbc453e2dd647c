"""Built-in steps. Each ``run(context, **inputs)`` returns a ``StepResult``."""
