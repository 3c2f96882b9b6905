import re

import tokenrail


def test_version_is_semver_and_matches_the_package():
    assert re.fullmatch(r"\d+\.\d+\.\d+", tokenrail.version())
    assert tokenrail.version() == tokenrail.__version__


def test_abi_version_is_the_one_the_declarations_match():
    assert tokenrail.abi_version() == 1


def test_operations_lists_the_contract():
    ops = tokenrail.operations()
    assert "start_workflow" in ops
    assert "continue_workflow" in ops
    assert all(isinstance(op, str) for op in ops)


def test_library_path_is_known():
    assert "tokenrail" in tokenrail.library_path()
