"""The four pipelines, one package each; registered by ``find_pipelines``."""
