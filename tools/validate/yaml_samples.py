#!/usr/bin/env python3
"""Check the YAML writer's samples with a YAML 1.1 reader (PyYAML, as yamllint and gcloud use).

    SIGHT_YAML_SAMPLES=/tmp/samples cargo test --lib emit::yaml
    python3 tools/validate/yaml_samples.py /tmp/samples

Every NNNN.yaml must load (yaml.safe_load) to exactly the value of NNNN.json: a string that
YAML 1.1 reads as a boolean, a number, a date or null shows up as a difference. Prints
"yaml samples: N passed, M failed"; exit status 1 on any failure.
"""
import json
import math
import pathlib
import sys

import yaml


def same(a, b):
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def main(folder):
    passed = failed = 0
    for path in sorted(pathlib.Path(folder).glob("*.yaml")):
        expected = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        text = path.read_text(encoding="utf-8")
        try:
            actual = yaml.safe_load(text)
        except yaml.YAMLError as e:
            print(f"FAIL {path}: {e}")
            failed += 1
            continue
        if same(actual, expected):
            passed += 1
        else:
            print(f"FAIL {path}:\n{text}\n  read {actual!r}\n  expected {expected!r}")
            failed += 1
    print(f"yaml samples: {passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
