"""Harvesting other catalogs into the open catalog, following ckanext-harvest's gather / fetch / import.

Sources are declared in ``harvest/sources.yml`` (:mod:`sudata.harvest.sources`): a CKAN Action API, a
DCAT-AP document (JSON-LD or Turtle, read with rdflib) or a DCAT-US ``data.json``. A job
(:func:`sudata.harvest.job.run_job`) gathers what changed at the source since the last job, imports
each record into the published store's index (:mod:`sudata.harvest.store`) under a stable id, withdraws
the entries the source no longer lists, and reports invalid records without failing.
"""
