"""Raw-data acquisition shared by every pipeline."""

from advanced_dl.data.acquisition import (
    MIRROR_ENV_VAR,
    SOURCES,
    DataAcquisitionError,
    extract_archive,
    fetch,
)

__all__ = ["MIRROR_ENV_VAR", "SOURCES", "DataAcquisitionError", "extract_archive", "fetch"]
