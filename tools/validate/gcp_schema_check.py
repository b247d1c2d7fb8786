#!/usr/bin/env python3
"""Check generated Google Cloud resource files against Google's discovery documents.

sight emits three kinds of Google Cloud files that no other offline tool validates well:

  --kind alert-policy      Cloud Monitoring AlertPolicy (monitoring v3 `AlertPolicy`), the
                           input of `gcloud alpha monitoring policies create --policy-from-file`
  --kind cloudbuild        cloudbuild.yaml (cloudbuild v1 `Build`), as read by
                           `gcloud builds submit` (snake_case keys are camel-cased like gcloud does)
  --kind cloudrun-service  Cloud Run service YAML (run v1 `Service`), the input of
                           `gcloud run services replace`

The schemas come from the discovery documents that google-api-python-client ships as JSON
(googleapiclient/discovery_cache/documents/*.json). The package is located with
importlib.util.find_spec and never imported. `--discovery DIR` overrides the location.

Checks, recursively from the discovery document: unknown fields (with did-you-mean), JSON types
(boolean, int32, int64 as integer or decimal string, double, string, array, map, object), enum
values (deprecated values and deprecated fields are errors too), google-duration strings such as
"300s", RFC 3339 datetimes, base64, fields documented "Required.", output-only fields, null values,
duplicate keys and more than one YAML document. Then a few rules per kind that the API docs or
gcloud state (see the rules_* functions).

Usage:
  gcp_schema_check.py --kind KIND [--dump-scripts DIR] FILE...

Output: one line per finding, `FILE:LINE: error: $.json.path: message`.
Exit status: 0 no findings, 1 findings, 2 setup problem (missing PyYAML or discovery document).
With --dump-scripts (cloudbuild only), each step's inline shell body is written to
DIR/<stem>.stepNN.sh for shellcheck (NN is the step's index in `steps`).

Dependencies: Python 3.8+ and PyYAML.
"""

import argparse
import datetime
import difflib
import importlib.util
import json
import os
import re
import sys

try:
    import yaml
except ImportError:
    sys.stderr.write("gcp_schema_check.py: PyYAML is required (pip install pyyaml)\n")
    sys.exit(2)

KINDS = {  # kind -> (discovery document stem, root schema)
    "alert-policy": ("monitoring.v3", "AlertPolicy"),
    "cloudbuild": ("cloudbuild.v1", "Build"),
    "cloudrun-service": ("run.v1", "Service"),
}

INT_RANGES = {"int32": (-2 ** 31, 2 ** 31 - 1), "uint32": (0, 2 ** 32 - 1),
              "int64": (-2 ** 63, 2 ** 63 - 1), "uint64": (0, 2 ** 64 - 1)}
DURATION_RE = re.compile(r"^(\d+)(\.\d{1,9})?s$")
DATETIME_RE = re.compile(r"^\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(\.\d{1,9})?([Zz]|[+-]\d\d:\d\d)$")
DECIMAL_RE = re.compile(r"^-?\d+$")
BASE64_RE = re.compile(r"^[A-Za-z0-9+/_-]*={0,2}$")
OUTPUT_ONLY_RE = re.compile(r"^Output only|^(A |The )?read-only|system-(controlled|generated|provided)"
                            r"|server time when", re.IGNORECASE)
MAX_DURATION_S = 315576000000  # protobuf Duration limit (10,000 years)


class SetupError(Exception):
    pass


# ----------------------------------------------------------------------------- discovery

def find_discovery(stem, override=None):
    """Path of googleapiclient/discovery_cache/documents/<stem>.json, without importing it."""
    dirs = []
    if override:
        dirs.append(override)
    else:
        try:
            spec = importlib.util.find_spec("googleapiclient")
        except (ImportError, ValueError):
            spec = None
        for loc in (spec.submodule_search_locations or []) if spec else []:
            dirs.append(os.path.join(loc, "discovery_cache", "documents"))
    for d in dirs:
        path = os.path.join(d, stem + ".json")
        if os.path.isfile(path):
            return path
    raise SetupError("cannot find discovery document %s.json (install google-api-python-client "
                     "in this Python environment, or pass --discovery DIR)" % stem)


# ----------------------------------------------------------------------------- loading

class Finding(Exception):
    """A problem that stops the checks of one file (parse errors)."""

    def __init__(self, msg, line=None):
        super().__init__(msg)
        self.line = line


def _yaml_problem(exc):
    mark = getattr(exc, "problem_mark", None)
    text = " ".join(x for x in (getattr(exc, "context", None), getattr(exc, "problem", None)) if x)
    return Finding("invalid YAML: %s" % (text or exc), mark.line + 1 if mark else None)


def _compose(text, lines, problems):
    """Parse exactly one YAML document, keeping the line of each path and finding duplicate keys."""
    loader = yaml.SafeLoader(text)
    try:
        try:
            node = loader.get_single_node()
        except yaml.composer.ComposerError as exc:
            if "expected a single document" in str(exc):
                mark = exc.problem_mark
                raise Finding("more than one YAML document in the file (a second one starts here); "
                              "write exactly one resource per file", mark.line + 1 if mark else None)
            raise _yaml_problem(exc)
        except yaml.YAMLError as exc:
            raise _yaml_problem(exc)
        if node is None:
            raise Finding("the file is empty", 1)

        def build(n, path):
            lines.setdefault(path, n.start_mark.line + 1)
            if isinstance(n, yaml.MappingNode):
                own = {}
                for k, _ in n.value:
                    if k.tag == "tag:yaml.org,2002:merge":
                        continue
                    key = loader.construct_object(k, deep=True)
                    try:
                        if key in own:
                            problems.append((path + (key,), "duplicate key %r (first at line %d); YAML "
                                             "parsers silently keep only the last value"
                                             % (key, own[key]), k.start_mark.line + 1))
                        own.setdefault(key, k.start_mark.line + 1)
                    except TypeError:
                        pass
                loader.flatten_mapping(n)
                out = {}
                for k, v in n.value:
                    key = loader.construct_object(k, deep=True)
                    if isinstance(key, (list, dict)):
                        problems.append((path, "a mapping key must be a scalar", k.start_mark.line + 1))
                        continue
                    lines[path + (key,)] = k.start_mark.line + 1
                    out[key] = build(v, path + (key,))
                return out
            if isinstance(n, yaml.SequenceNode):
                return [build(item, path + (i,)) for i, item in enumerate(n.value)]
            return loader.construct_object(n, deep=True)

        try:
            return build(node, ())
        except yaml.YAMLError as exc:
            raise _yaml_problem(exc)
    finally:
        loader.dispose()


def load(path):
    """Return (data, lines, problems); lines maps a path tuple to its line number."""
    try:
        with open(path, "rb") as fh:
            text = fh.read().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Finding("the file is not UTF-8 (%s)" % exc)
    lines, problems = {}, []
    if not path.endswith(".json"):
        return _compose(text, lines, problems), lines, problems

    def pairs(items):
        out = {}
        for k, v in items:
            if k in out:
                problems.append(((), "duplicate JSON key %r; parsers keep only the last value" % k, None))
            out[k] = v
        return out
    try:
        data = json.loads(text, object_pairs_hook=pairs)
    except ValueError as exc:
        raise Finding("invalid JSON: %s" % exc, getattr(exc, "lineno", None))
    try:  # JSON is (nearly always) YAML: reuse the composer for line numbers and key paths
        yproblems = []
        _compose(text, lines, yproblems)
        problems = yproblems
    except Finding:
        pass
    return data, lines, problems


# ----------------------------------------------------------------------------- helpers

def fmt_path(path):
    out = "$"
    for p in path:
        if isinstance(p, int) and not isinstance(p, bool):
            out += "[%d]" % p
        elif isinstance(p, str) and re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", p):
            out += "." + p
        else:
            out += "[%s]" % json.dumps(str(p))
    return out


def type_name(v):
    if v is None:
        return "null"
    if isinstance(v, (datetime.date, datetime.datetime)):
        return "an unquoted YAML timestamp"
    for t, name in ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"),
                    (list, "array"), (dict, "object")):
        if isinstance(v, t):
            return name
    return type(v).__name__


def show(v, limit=60):
    try:
        s = json.dumps(v, default=str)
    except (TypeError, ValueError):
        s = repr(v)
    return s if len(s) <= limit else s[:limit - 3] + "..."


def gcloud_camel(name):
    """gcloud's SnakeToCamelString: 'machine_type' -> 'machineType'."""
    parts = name.split("_")
    if len(parts) < 2 or not all(parts):
        return name
    return parts[0] + "".join(p.capitalize() for p in parts[1:])


def seconds(v):
    """Seconds of a valid google-duration string, else None."""
    m = DURATION_RE.match(v) if isinstance(v, str) else None
    return int(m.group(1)) + (float(m.group(2)) if m.group(2) else 0) if m else None


def as_list(v):
    return v if isinstance(v, list) else []


def as_dict(v):
    return v if isinstance(v, dict) else {}


def is_required(desc):
    return desc.startswith("Required.") or desc.rstrip().endswith("Required.")


# ----------------------------------------------------------------------------- schema walk

class Checker:
    """Walks a document against a discovery schema. Findings are (path, message, line)."""

    def __init__(self, discovery, kind):
        self.schemas = discovery["schemas"]
        self.kind = kind
        self.findings = []
        self.origin = {}  # canonical path -> path as written (they differ for gcloud snake_case)

    def error(self, path, msg):
        self.findings.append((tuple(path), msg, None))

    def check(self, value, schema):
        return self.value(value, {"$ref": schema}, (), (), "")

    def value(self, v, spec, path, opath, where):
        """Check v against a property spec; return v with object keys in canonical form."""
        self.origin[path] = opath
        if v is None:
            self.error(path, "empty (null) value for %s; remove the key or give a value" % (where or "$"))
            return v
        if "$ref" in spec:
            return self.obj(v, spec["$ref"], path, opath)
        t = spec.get("type")
        if t == "array":
            if not isinstance(v, list):
                self.error(path, "%s must be an array, got %s %s" % (where, type_name(v), show(v)))
                return v
            item = spec.get("items", {"type": "any"})
            return [self.value(x, item, path + (i,), opath + (i,), where + "[]") for i, x in enumerate(v)]
        if t == "object":
            if not isinstance(v, dict):
                self.error(path, "%s must be a map, got %s %s" % (where, type_name(v), show(v)))
                return v
            item = spec.get("additionalProperties")
            out = {}
            for k, x in v.items():
                if not isinstance(k, str):
                    self.error(path + (k,), "map key %r of %s must be a string (quote it)" % (k, where))
                out[k] = self.value(x, item, path + (k,), opath + (k,), where + "{}") if isinstance(item, dict) else x
            return out
        if t == "string":
            self.string(v, spec, path, where)
        elif t == "integer":
            self.integer(v, spec.get("format", "int32"), path, where, strings_ok=False)
        elif t == "number":
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                self.error(path, "%s must be a number, got %s %s" % (where, type_name(v), show(v)))
        elif t == "boolean":
            if not isinstance(v, bool):
                self.error(path, "%s must be true or false, got %s %s" % (where, type_name(v), show(v)))
        elif t not in ("any", None):
            raise SetupError("unsupported discovery type %r at %s" % (t, where))
        return v

    def obj(self, v, name, path, opath):
        if not isinstance(v, dict):
            self.error(path, "expected an object (%s), got %s %s" % (name, type_name(v), show(v)))
            return v
        props = self.schemas[name].get("properties", {})
        out, written = {}, {}
        for key, x in v.items():
            if not isinstance(key, str):
                self.error(path + (key,), "field name %r must be a string" % (key,))
                continue
            canon = key
            if key not in props and self.kind == "cloudbuild" and gcloud_camel(key) in props:
                canon = gcloud_camel(key)  # gcloud builds submit camel-cases snake_case keys
            if canon not in props:
                self.origin[path + (key,)] = opath + (key,)
                self.error(path + (key,), "unknown field %r in %s%s" % (key, name, self.hint(key, name, path)))
                continue
            if canon in written:
                self.error(path + (canon,), "field %r given twice (as %r and %r)" % (canon, written[canon], key))
            written[canon] = key
            spec = props[canon]
            where = "%s.%s" % (name, canon)
            desc = spec.get("description", "")
            if spec.get("readOnly") or OUTPUT_ONLY_RE.search(desc):
                self.origin[path + (canon,)] = opath + (key,)
                hint = self.hint(key, name, path)
                hint = hint if "build-step" in hint else ""
                self.error(path + (canon,), "%s is output-only (set by the server); do not write it%s"
                           % (where, hint))
                continue
            if spec.get("deprecated"):
                self.origin[path + (canon,)] = opath + (key,)
                self.error(path + (canon,), "%s is deprecated" % where)
            if self.kind == "cloudrun-service" and re.match(r"\(?Not supported by Cloud Run", desc):
                self.origin[path + (canon,)] = opath + (key,)
                self.error(path + (canon,), "%s is not supported by Cloud Run (see its API description)" % where)
            out[canon] = self.value(x, spec, path + (canon,), opath + (key,), where)
        for prop, spec in sorted(props.items()):
            if prop not in written and is_required(spec.get("description", "")) \
                    and not (self.kind == "cloudrun-service" and (name, prop) == ("ObjectMeta", "namespace")):
                self.error(path, "missing required field %r (%s.%s)" % (prop, name, prop))
        return out

    def hint(self, key, name, path):
        props = list(self.schemas[name].get("properties", {}))
        if self.kind == "cloudbuild" and path == () and \
                gcloud_camel(key) in self.schemas["BuildStep"]["properties"]:
            return "; it is a build-step field: was a step written outside `steps:`?"
        for p in props:
            if key.lower().replace("_", "") == p.lower():
                return "; did you mean %r?" % p
        close = difflib.get_close_matches(key, props, n=3, cutoff=0.6)
        if close:
            return "; did you mean %s?" % " or ".join(repr(c) for c in close)
        return "; allowed: %s" % ", ".join(sorted(props)) if len(props) <= 20 else ""

    def integer(self, v, fmt, path, where, strings_ok):
        lo, hi = INT_RANGES.get(fmt, INT_RANGES["int64"])
        if isinstance(v, str) and strings_ok and DECIMAL_RE.match(v):
            n = int(v)
        elif isinstance(v, int) and not isinstance(v, bool):
            n = v
        else:
            self.error(path, "%s must be an integer (%s)%s, got %s %s" % (
                where, fmt, " or a decimal string" if strings_ok else "", type_name(v), show(v)))
            return
        if not lo <= n <= hi:
            self.error(path, "%s value %d is outside the %s range" % (where, n, fmt))

    def string(self, v, spec, path, where):
        fmt = spec.get("format")
        if fmt in ("int64", "uint64"):
            self.integer(v, fmt, path, where, strings_ok=True)
            return
        if not isinstance(v, str):
            hint = " (quote it)" if isinstance(v, (bool, int, float, datetime.date)) else ""
            if fmt == "google-duration" and isinstance(v, (int, float)) and not isinstance(v, bool):
                hint = ' (durations are strings like "%ss")' % (int(v) if v == int(v) else v)
            self.error(path, "%s must be a string, got %s %s%s" % (where, type_name(v), show(v), hint))
            return
        enum = spec.get("enum")
        if enum:
            if v not in enum:
                close = [v.upper()] if v.upper() in enum else difflib.get_close_matches(v, enum, n=1, cutoff=0.5)
                self.error(path, "%r is not a valid %s; expected one of: %s%s" % (
                    v, where, ", ".join(enum), "; did you mean %r?" % close[0] if close else ""))
            elif (spec.get("enumDeprecated") or [False] * len(enum))[enum.index(v)]:
                ok = [e for e, d in zip(enum, spec["enumDeprecated"]) if not d]
                self.error(path, "%r is deprecated for %s; current values: %s" % (v, where, ", ".join(ok)))
            return
        if fmt == "google-duration":
            secs = seconds(v)
            if secs is None:
                self.error(path, '%r is not a valid duration for %s; write whole or fractional seconds '
                           'with an "s" suffix, e.g. "300s"' % (v, where))
            elif secs > MAX_DURATION_S:
                self.error(path, "duration %r is out of range for %s" % (v, where))
        elif fmt == "google-datetime" and not DATETIME_RE.match(v):
            self.error(path, "%r is not an RFC 3339 timestamp for %s (e.g. 2025-01-31T12:00:00Z)" % (v, where))
        elif fmt == "byte" and (not BASE64_RE.match(v) or len(v.rstrip("=")) % 4 == 1):
            self.error(path, "%s must be base64, got %s" % (where, show(v)))


# ----------------------------------------------------------------------------- per-kind rules

CHANNEL_RE = re.compile(r"^projects/[^/]+/notificationChannels/[^/]+$")
LABEL_KEY_RE = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
LABEL_VALUE_RE = re.compile(r"^[a-z0-9_-]{0,63}$")
SUBSTITUTION_RE = re.compile(r"^_[A-Z0-9_]+$")


def rules_alert_policy(doc, ck):
    """Rules stated in the monitoring v3 field descriptions (the API rejects these)."""
    err = ck.error
    if not isinstance(doc, dict):
        return
    if "name" in doc:
        err(("name",), "do not set `name`: Cloud Monitoring assigns it on create")
    if not doc.get("displayName"):
        err((), "missing `displayName` (sight requires every policy to be named)")
    conds = doc.get("conditions")
    if not isinstance(conds, list):
        if conds is None:
            err((), "missing `conditions`: a policy has one to six conditions")
        return
    if not 1 <= len(conds) <= 6:
        err(("conditions",), "a policy has one to six conditions, got %d" % len(conds))
    kinds = sorted(p for p in ck.schemas["Condition"]["properties"] if p.startswith("condition"))
    seen = []
    for i, c in enumerate(conds):
        if not isinstance(c, dict):
            continue
        p = ("conditions", i)
        present = [k for k in kinds if k in c]
        seen += present
        if len(present) != 1:
            err(p, "a condition sets exactly one of %s; found %s" % (", ".join(kinds), ", ".join(present) or "none"))
        if "name" in c:
            err(p + ("name",), "do not set a condition `name` on create: Cloud Monitoring assigns it")
        for kind, min_s in (("conditionThreshold", 0), ("conditionAbsent", 120)):
            if isinstance(c.get(kind), dict):
                metric_condition(c[kind], p + (kind,), min_s, err)
    if len(conds) > 1:
        comb = doc.get("combiner")
        if comb in (None, "COMBINE_UNSPECIFIED"):
            err(("combiner",) if comb else (), "a policy with several conditions needs a `combiner` "
                "(AND, OR or AND_WITH_MATCHING_RESOURCE)")
        for only in ("conditionMatchedLog", "conditionMonitoringQueryLanguage"):
            if only in seen:
                err(("conditions",), "a policy with %s must have exactly one condition" % only)
    if "conditionMatchedLog" in seen:
        strat = doc.get("alertStrategy")
        if not isinstance(strat, dict) or "notificationRateLimit" not in strat:
            err(("alertStrategy",), "log-based policies (conditionMatchedLog) require "
                "alertStrategy.notificationRateLimit")
    for i, ch in enumerate(as_list(doc.get("notificationChannels"))):
        if isinstance(ch, str) and not CHANNEL_RE.match(ch):
            err(("notificationChannels", i), "%r is not a channel name "
                "projects/PROJECT/notificationChannels/CHANNEL_ID" % ch)
    labels = doc.get("userLabels")
    if isinstance(labels, dict):
        if len(labels) > 64:
            err(("userLabels",), "at most 64 user labels, got %d" % len(labels))
        for k, v in labels.items():
            if isinstance(k, str) and not LABEL_KEY_RE.match(k):
                err(("userLabels", k), "label key %r: lowercase letters, digits, _ and -, starting with a "
                    "letter, at most 63 characters" % k)
            if isinstance(v, str) and not LABEL_VALUE_RE.match(v):
                err(("userLabels", k), "label value %r: lowercase letters, digits, _ and -, at most 63 "
                    "characters" % v)
    docs = doc.get("documentation")
    if isinstance(docs, dict):
        if "mimeType" in docs and docs["mimeType"] != "text/markdown":
            err(("documentation", "mimeType"), 'only "text/markdown" is supported, got %s' % show(docs["mimeType"]))
        if isinstance(docs.get("content"), str) and len(docs["content"]) > 8192:
            err(("documentation", "content"), "documentation.content exceeds 8,192 characters")


def metric_condition(cond, p, min_s, err):
    flt = cond.get("filter")
    if isinstance(flt, str):
        if "metric.type" not in flt:
            err(p + ("filter",), "the filter must select a metric type (metric.type = \"...\")")
        if len(flt) > 2048:
            err(p + ("filter",), "the filter exceeds 2048 characters")
    dur = seconds(cond.get("duration"))
    if dur is not None and (dur % 60 or dur < min_s):
        err(p + ("duration",), "duration must be a multiple of 60s%s, got %s" % (
            " and at least %ds" % min_s if min_s else "", cond["duration"]))
    if p[-1] == "conditionThreshold":
        cmp = cond.get("comparison")
        valid = cmp is None or (isinstance(cmp, str) and cmp.startswith("COMPARISON_"))
        if valid and cmp not in ("COMPARISON_GT", "COMPARISON_LT"):
            err(p + ("comparison",) if cmp else p, "a threshold needs `comparison` COMPARISON_GT or "
                "COMPARISON_LT (the only ones the API supports), got %s" % show(cmp))
    for field in ("aggregations", "denominatorAggregations"):
        for j, agg in enumerate(as_list(cond.get(field))):
            if not isinstance(agg, dict):
                continue
            ap = p + (field, j)
            aligner, reducer = agg.get("perSeriesAligner"), agg.get("crossSeriesReducer")
            period = agg.get("alignmentPeriod")
            secs = seconds(period)
            if secs is not None and not 60 <= secs <= 90000:
                err(ap + ("alignmentPeriod",), "alignmentPeriod must be 60s..90000s in an alert policy, got %s" % period)
            if aligner not in (None, "ALIGN_NONE") and period is None:
                err(ap, "perSeriesAligner %s needs an alignmentPeriod" % aligner)
            if reducer not in (None, "REDUCE_NONE"):
                if aligner in (None, "ALIGN_NONE"):
                    err(ap, "crossSeriesReducer %s needs a perSeriesAligner other than ALIGN_NONE" % reducer)
                if period is None:
                    err(ap, "crossSeriesReducer %s needs an alignmentPeriod" % reducer)


def rules_cloudbuild(doc, ck):
    """gcloud's own checks (config.py) plus rules from the Build field descriptions."""
    err = ck.error
    if not isinstance(doc, dict):
        return
    if "source" in doc:
        err(("source",), "a build config cannot specify `source` (gcloud)")
    subs = doc.get("substitutions")
    for k in subs if isinstance(subs, dict) else ():
        if isinstance(k, str) and not SUBSTITUTION_RE.match(k):
            err(("substitutions", k), "substitution key %r does not match ^_[A-Z0-9_]+$ (gcloud)" % k)
    steps = doc.get("steps")
    if not isinstance(steps, list):
        return
    if not steps:
        err(("steps",), "a build config must list at least one step (gcloud)")
    ids, used_secrets = [], {}
    for i, st in enumerate(steps):
        if not isinstance(st, dict):
            continue
        p = ("steps", i)
        if "script" in st and ("args" in st or "entrypoint" in st):
            err(p, "a step with `script` cannot also set `args` or `entrypoint`")
        for j, w in enumerate(as_list(st.get("waitFor"))):
            if w != "-" and w not in ids:
                err(p + ("waitFor", j), "waitFor %s is not the id of an earlier step%s" % (
                    show(w), " (known: %s)" % ", ".join(ids) if ids else ""))
        sid = st.get("id")
        if isinstance(sid, str):
            if sid in ids:
                err(p + ("id",), "duplicate step id %r" % sid)
            ids.append(sid)
        for j, name in enumerate(as_list(st.get("secretEnv"))):
            if isinstance(name, str):
                used_secrets.setdefault(name, p + ("secretEnv", j))
    declared = {}  # env name -> path of its declaration

    def declare(name, path):
        if name in declared:
            err(path, "secret env %r is declared twice; names must be unique across the build's secrets" % name)
        declared.setdefault(name, path)
    avail = as_dict(doc.get("availableSecrets"))
    for j, s in enumerate(as_list(avail.get("secretManager"))):
        if isinstance(as_dict(s).get("env"), str):
            declare(s["env"], ("availableSecrets", "secretManager", j, "env"))
    for j, s in enumerate(as_list(avail.get("inline"))):
        for name in as_dict(as_dict(s).get("envMap")):
            declare(name, ("availableSecrets", "inline", j, "envMap", name))
    for j, s in enumerate(as_list(doc.get("secrets"))):  # the older KMS form
        for name in as_dict(as_dict(s).get("secretEnv")):
            declare(name, ("secrets", j, "secretEnv", name))
    for name, path in declared.items():
        if name not in used_secrets:
            err(path, "secret env %r is not used by any step's secretEnv (Cloud Build rejects unused secrets)" % name)
    for name, path in used_secrets.items():
        if name not in declared:
            err(path, "secretEnv %r is not declared in availableSecrets (or secrets)" % name)


def rules_cloudrun_service(doc, ck):
    err = ck.error
    if not isinstance(doc, dict):
        return
    if doc.get("apiVersion") != "serving.knative.dev/v1":
        err(("apiVersion",) if "apiVersion" in doc else (),
            "apiVersion must be serving.knative.dev/v1, got %s" % show(doc.get("apiVersion")))
    if doc.get("kind") != "Service":
        err(("kind",) if "kind" in doc else (), "kind must be Service, got %s" % show(doc.get("kind")))
    if not isinstance(doc.get("metadata"), dict) or not doc["metadata"].get("name"):
        err(("metadata",) if "metadata" in doc else (), "metadata.name (the service name) is missing")
    # Annotation values must be strings: the schema walk already reports non-strings per value.


RULES = {"alert-policy": rules_alert_policy, "cloudbuild": rules_cloudbuild,
         "cloudrun-service": rules_cloudrun_service}


# ----------------------------------------------------------------------------- scripts

SHELLS = ("sh", "bash", "dash", "ash", "ksh")


def step_scripts(doc):
    """Yield (index, body) for every step whose body is a shell script."""
    steps = doc.get("steps") if isinstance(doc, dict) else None
    for i, st in enumerate(steps if isinstance(steps, list) else []):
        if not isinstance(st, dict):
            continue
        script = st.get("script")
        if isinstance(script, str):
            first = script.lstrip().split("\n", 1)[0]
            if first.startswith("#!"):
                if os.path.basename(first[2:].split()[-1] if first[2:].split() else "") not in SHELLS:
                    continue  # e.g. #!/usr/bin/env python
                yield i, script
            else:
                yield i, "#!/bin/sh\n" + script  # Cloud Build runs a script without shebang with /bin/sh
            continue
        ep, args = st.get("entrypoint"), st.get("args")
        if not isinstance(ep, str) or os.path.basename(ep) not in SHELLS or not isinstance(args, list):
            continue
        for j, a in enumerate(args[:-1]):
            if not (isinstance(a, str) and a.startswith("-")):
                break
            if re.match(r"^-[a-z]*c$", a):
                body = str(args[j + 1]).replace("$$", "$")  # Cloud Build's escape for a literal $
                if not body.startswith("#!"):
                    body = "#!/bin/%s\n%s" % ("sh" if os.path.basename(ep) == "sh" else "bash", body)
                yield i, body
                break


def dump_scripts(doc, outdir, stem):
    os.makedirs(outdir, exist_ok=True)
    written = []
    for i, body in step_scripts(doc):
        path = os.path.join(outdir, "%s.step%02d.sh" % (stem, i))
        with open(path, "w") as fh:
            fh.write(body if body.endswith("\n") else body + "\n")
        written.append(path)
    return written


# ----------------------------------------------------------------------------- main

def check_file(path, kind, discovery, dump_dir):
    """Return a list of (line, json_path, message)."""
    try:
        data, lines, problems = load(path)
    except Finding as exc:
        return [(exc.line, "$", str(exc))]
    except OSError as exc:
        return [(None, "$", "cannot read the file: %s" % exc.strerror)]
    ck = Checker(discovery, kind)
    norm = ck.check(data, KINDS[kind][1])
    RULES[kind](norm, ck)
    out = []
    for path_, msg, line in problems + ck.findings:
        opath = path_
        for n in range(len(path_), -1, -1):  # canonical path -> path as written
            if path_[:n] in ck.origin:
                opath = ck.origin[path_[:n]] + path_[n:]
                break
        if line is None:
            p = opath
            while p and p not in lines:
                p = p[:-1]
            line = lines.get(p)
        out.append((line, fmt_path(opath), msg))
    if dump_dir and kind == "cloudbuild":
        dump_scripts(norm, dump_dir, os.path.splitext(os.path.basename(path))[0])
    return sorted(out, key=lambda f: (f[0] or 0, f[1]))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="+", metavar="FILE")
    ap.add_argument("--kind", required=True, choices=sorted(KINDS))
    ap.add_argument("--dump-scripts", metavar="DIR",
                    help="cloudbuild: write each step's shell body to DIR/<stem>.stepNN.sh")
    ap.add_argument("--discovery", metavar="DIR", help="directory holding the discovery JSON files")
    args = ap.parse_args(argv)
    try:
        with open(find_discovery(KINDS[args.kind][0], args.discovery)) as fh:
            discovery = json.load(fh)
        if KINDS[args.kind][1] not in discovery.get("schemas", {}):
            raise SetupError("schema %s missing from %s" % (KINDS[args.kind][1], KINDS[args.kind][0]))
        failed = False
        for f in args.files:
            for line, jpath, msg in check_file(f, args.kind, discovery, args.dump_scripts):
                print("%s:%s: error: %s: %s" % (f, line or 1, jpath, msg))
                failed = True
    except (SetupError, OSError, ValueError) as exc:
        sys.stderr.write("gcp_schema_check.py: %s\n" % exc)
        return 2
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
