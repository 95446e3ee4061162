"""MLflow "models from code" entry points: each creates an empty served model.

MLflow runs the file when it loads a logged model, then calls the model's
``load_context`` with the logged artifacts (see ``advanced_dl.serving``).
"""
