"""Links from each asset in the Dagster UI to the code that builds it.

Dagster's ``with_source_code_references`` reads the source of every asset's function. A factory that builds
one asset per dataset would have it read the same function a thousand times (seconds of a code location's
load), so its assets name their code when they are built (``factory_reference``) and skip that pass.
"""

import os
import warnings
from collections.abc import Sequence

import dagster as dg

from sudata.settings import PROJECT_ROOT

CODE_REFERENCES = "dagster/code_references"


def factory_reference(factory) -> dict:
    """Asset metadata pointing at ``factory``, the function that builds a family of assets."""
    code = factory.__code__
    return {CODE_REFERENCES: dg.CodeReferencesMetadataValue(code_references=[
        dg.LocalFileCodeReference(file_path=os.path.abspath(code.co_filename), line_number=code.co_firstlineno)])}


def with_code_references(assets: Sequence, referenced: Sequence = ()) -> list:
    """Each asset links to the code that builds it: the Python function, and a dbt model's SQL file too.
    ``referenced`` assets carry their references already (``factory_reference``). With SUDATA_GIT_URL set
    (e.g. the repository's GitHub or GitLab address) the links open there, at SUDATA_GIT_BRANCH (default
    main), instead of in the local checkout."""
    with warnings.catch_warnings():  # beta in this Dagster: otherwise a warning per asset
        warnings.simplefilter("ignore", dg.BetaWarning)
        assets = [*dg.with_source_code_references(assets), *referenced]
        git_url = os.environ.get("SUDATA_GIT_URL")
        if not git_url:
            return assets
        return list(dg.link_code_references_to_git(
            assets, git_url=git_url, git_branch=os.environ.get("SUDATA_GIT_BRANCH", "main"),
            file_path_mapping=dg.AnchorBasedFilePathMapping(local_file_anchor=PROJECT_ROOT / "pyproject.toml",
                                                            file_anchor_path_in_repository="pyproject.toml")))
