"""Exchange with other tools: NIR export and import (:mod:`fireflys.interop.nir`)."""
