import pickle
import textwrap

import pytest

from shipyard.data.usercode import call_user, resolve_function
from shipyard.errors import DataError, SpecError, UserCodeError


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))

    def write(name: str, source: str) -> str:
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
        return name

    return write


def test_resolves_module_function():
    import os.path

    assert resolve_function("os.path:join") is os.path.join


def test_resolves_a_user_module(user_module):
    name = user_module("uc_steps_ok", """
        def double(x):
            return 2 * x
    """)
    assert resolve_function(f"{name}:double")(4) == 8


def test_missing_module_is_a_spec_error():
    with pytest.raises(SpecError, match="no module named 'no_such_user_module' \\(from 'no_such_user_module:f'\\)"):
        resolve_function("no_such_user_module:f")


def test_missing_attribute_lists_callables(user_module):
    name = user_module("uc_steps_attr", """
        def make_features():
            pass
        def train():
            pass
        VALUE = 3
    """)
    with pytest.raises(SpecError) as info:
        resolve_function(f"{name}:make_feature")
    assert info.value.message == f"module '{name}' has no attribute 'make_feature' (from '{name}:make_feature')"
    assert info.value.hint == "callables it defines: make_features, train"
    with pytest.raises(SpecError, match="is a int, not a function"):
        resolve_function(f"{name}:VALUE")


def test_bad_reference():
    with pytest.raises(SpecError, match="not a function reference"):
        resolve_function("just_a_name")


def test_module_with_missing_dependency(user_module):
    name = user_module("uc_steps_dep", """
        import definitely_not_installed_pkg
        def f():
            pass
    """)
    with pytest.raises(SpecError, match="imports 'definitely_not_installed_pkg', which is not installed"):
        resolve_function(f"{name}:f")


def test_module_failing_at_import_is_user_code(user_module):
    name = user_module("uc_steps_boom", """
        x = 1
        raise RuntimeError("configuration missing")
    """)
    with pytest.raises(UserCodeError) as info:
        resolve_function(f"{name}:f")
    assert "RuntimeError: configuration missing" in info.value.message
    assert 'raise RuntimeError("configuration missing")' in info.value.user_traceback


def test_call_user_wraps_with_traceback(user_module):
    name = user_module("uc_steps_fail", """
        def divide(a, b):
            return a / b
    """)
    function = resolve_function(f"{name}:divide")
    assert call_user(function, 6, b=3) == 2
    with pytest.raises(UserCodeError) as info:
        call_user(function, 1, 0)
    error = info.value
    assert error.message.startswith(f"{name}:divide raised ZeroDivisionError: division by zero at ")
    assert error.message.endswith(f"{name}.py:3 in divide")
    assert "return a / b" in error.user_traceback
    assert "usercode.py" not in error.user_traceback
    assert error.__cause__.__class__ is ZeroDivisionError
    copy = pickle.loads(pickle.dumps(error))
    assert copy.user_traceback == error.user_traceback


def test_shipyard_errors_pass_through():
    def refuse():
        raise DataError("not enough rows")

    with pytest.raises(DataError, match="not enough rows"):
        call_user(refuse)
