import json

from shipyard.spec import json_schema


def test_schema_describes_the_pipeline():
    schema = json_schema()
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert set(schema["required"]) == {"name", "data", "features", "model"}
    assert schema["additionalProperties"] is False
    json.dumps(schema)


def test_schema_validates_a_document():
    import jsonschema

    schema = json_schema()
    good = {"name": "x", "data": {"source": {"type": "csv", "path": "a.csv"}, "target": "y"},
            "features": [{"columns": ["a"], "transforms": [{"kind": "scale"}]}],
            "model": {"flavor": "sklearn", "estimator": "LogisticRegression"}}
    jsonschema.validate(good, schema)
    bad = {**good, "model": {"flavor": "torch", "estimator": "X"}}
    try:
        jsonschema.validate(bad, schema)
    except jsonschema.ValidationError as exc:
        assert "torch" in exc.message
    else:
        raise AssertionError("the schema accepted an unknown flavor")
