"""The whole flow as one command: ``fireflys build CONFIG`` (:mod:`fireflys.flow.build`)."""
