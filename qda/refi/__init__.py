"""REFI-QDA interchange (``.qdc`` codebooks, ``.qdpx`` projects), in one package.

- :mod:`qda.refi.model`: the vocabulary shared by all (what a file holds, GUIDs, qda's own fields);
- :mod:`qda.refi.read`: reading untrusted files safely into that model;
- :mod:`qda.refi.plan`: what a project stores from a file, as a :class:`qda.models.WritePlan`;
- :mod:`qda.refi.write`: writing a codebook or a whole project;
- :mod:`qda.refi.report`: what an import or an export did.

The package sits at the exporters' layer: it imports the model, ingestion and codebook
layers below it, never the store (the project commits its plans). Its modules are
imported when a REFI-QDA command runs, not at start-up.
"""
