"""Random read queries over read_schema.sql for the read switch property test.

A Query is a small structure (FROM, select list, WHERE atoms, GROUP BY,
ORDER BY/LIMIT) rendered to SQL, so a failing case can be shrunk to a minimal
one by dropping parts (shrink()). Each case is generated from its own
random.Random(f"{seed}:{index}"): any single case is reproducible.

Literals come from the legacy vocabularies: mapped values (representatives
of a many-to-one map and the others), values the map does not know, NULL,
other spellings, quotes and backslashes. mutate() changes corpus queries the
same way (literals, operators, IN lists, LIMITs).
"""
import dataclasses
import random
import re

# Legacy columns: (table, column) -> vocabulary and traits.
ORDER = ["Created", "Awaiting approval", "Awaiting fulfilment", "In fulfilment", "Dispatched", "Delivered",
         "Cancelled", "On hold"]
VOCAB = {
    ("orders", "status"): ORDER,
    ("orders", "pr_status"): ["draft", "submitted", "in review", "approved", "rejected", "partially delivered",
                              "fully delivered", "on ice", "IN REVIEW", "", "x'y"],
    ("cashouts", "status"): ["PENDING", "OTP_PENDING", "USER_CONFIRM_PENDING", "ADMIN_PENDING",
                             "PENDING_ADDRESS_CONFIG", "PENDING_SERVICE_FUNDING", "APPROVED", "EXECUTING",
                             "AWAITING_RESPONSE", "SUCCESS", "COMPLETED", "FAILED", "CANCELLED", "EXPIRED",
                             "LEGACY_HOLD", "success"],
    ("transfers", "state"): ["INITIATED", "OTP_SENT", "SUBMITTED", "IN_FLIGHT", "SETTLED", "COMPLETED", "FAILED",
                             "BOUNCED", "CANCELLED", "EXPIRED", "UNKNOWN", "settled"],
    ("processes", "status"): ["pending documents", "under review", "approved", "rejected", "it's done \\ finally",
                              "withdrawn", "it's", "\\"],
}
UNIFIED = {
    ("orders", "status"): ("unified_status", ["CREATED", "DISPATCHED", "DELIVERED", "ARCHIVED", "CANCELLED"]),
    ("orders", "pr_status"): ("unified_pr_status", ["DRAFT", "SUBMITTED", "DELIVERED", "ARCHIVED"]),
    ("cashouts", "status"): ("unified_status", ["PENDING", "SUCCESS", "PROCESSING", "FUNDS_HELD", "DISPUTED"]),
    ("transfers", "state"): ("unified_state", ["PENDING", "SUCCESS", "PROCESSING", "DISPUTED", "ON_HOLD"]),
    ("processes", "status"): ("unified_status", ["PENDING", "SUCCESS", "STALLED"]),
}
ENUM = {("orders", "status")}  # comparisons need valid labels; LIKE needs ::text
TABLE_SQL = {"orders": "orders", "cashouts": "cashouts", "transfers": "transfers",
             "processes": 'ops."IndividualProcesses"', "customers": "customers"}
LEGACY = {"orders": ["status", "pr_status"], "cashouts": ["status"], "transfers": ["state"],
          "processes": ["status"], "customers": []}
ROWS = {"orders": 300, "cashouts": 200, "transfers": 250, "processes": 60, "customers": 40}

# FROM shapes: (text, [(alias, table)]); {join} is JOIN or LEFT JOIN.
FROMS = [
    ("orders o", [("o", "orders")]),
    ("cashouts c", [("c", "cashouts")]),
    ("transfers t", [("t", "transfers")]),
    ('ops."IndividualProcesses" p', [("p", "processes")]),
    ("orders o {join} customers cu ON cu.id = o.customer_id", [("o", "orders"), ("cu", "customers")]),
    ("orders o {join} orders p ON p.id = o.parent_id", [("o", "orders"), ("p", "orders")]),
    ("transfers t {join} cashouts c ON c.id = t.cashout_id", [("t", "transfers"), ("c", "cashouts")]),
    ("transfers t {join} orders o ON o.id = t.order_id", [("t", "transfers"), ("o", "orders")]),
    ("cashouts c {join} customers cu ON cu.id = c.user_id", [("c", "cashouts"), ("cu", "customers")]),
    ('ops."IndividualProcesses" p {join} customers cu ON cu.id = p.customer_id', [("p", "processes"),
                                                                                ("cu", "customers")]),
]


def q(v):
    return "'" + v.replace("'", "''") + "'"


@dataclasses.dataclass
class Query:
    from_: str
    select: list          # SQL expressions (already aliased where needed)
    where: list           # atoms, joined by `glue`
    glue: str = "AND"
    negate: bool = False
    group_by: list = dataclasses.field(default_factory=list)
    having: str = ""
    distinct: bool = False
    order_by: list = dataclasses.field(default_factory=list)
    limit: str = ""
    ordered: bool = False  # ORDER BY fixes every row's place
    params: list = None    # $n values when the atoms use parameters

    def sql(self):
        s = "SELECT " + ("DISTINCT " if self.distinct else "") + ", ".join(self.select) + " FROM " + self.from_
        if self.where:
            cond = f" {self.glue} ".join(f"({a})" for a in self.where)
            s += " WHERE " + (f"NOT ({cond})" if self.negate else cond)
        if self.group_by:
            s += " GROUP BY " + ", ".join(self.group_by)
        if self.having:
            s += " HAVING " + self.having
        if self.order_by:
            s += " ORDER BY " + ", ".join(self.order_by)
        if self.limit:
            s += " " + self.limit
        return s

    def entry(self):
        e = {"sql": self.sql()}
        if self.params is not None:
            used = sorted({int(n) for n in re.findall(r"\$(\d+)", e["sql"])})
            # Shrinking may drop parameters: renumber what is left.
            renum = {old: i + 1 for i, old in enumerate(used)}
            e["sql"] = re.sub(r"\$(\d+)", lambda m: f"${renum[int(m.group(1))]}", e["sql"])
            e["params"] = [self.params[old - 1] for old in used]
        return e


class Gen:
    def __init__(self, rng, use_params=False):
        self.r = rng
        self.use_params = use_params
        self.params = []

    def literal(self, key, typed_enum=True):
        """A legacy literal for column key, or NULL; a parameter when asked."""
        r = self.r
        if r.random() < 0.08:
            value = None
        elif key in ENUM and typed_enum and r.random() > 0.02:
            value = r.choice(VOCAB[key])
        else:
            value = r.choice(VOCAB[key] + (["Bogus", "dispatched"] if key in ENUM else []))
        if self.use_params:
            self.params.append(value)
            # Mostly untyped, as applications send them: the server infers
            # the legacy column's type, and must still infer it after the rewrite.
            cast = "" if self.r.random() < 0.7 else ("::order_status" if key in ENUM else "::text")
            return f"${len(self.params)}{cast}"
        return "NULL" if value is None else q(value)

    def pattern(self, key):
        """A LIKE pattern from a vocabulary value. Backslashes (LIKE's escape
        character) are doubled: a pattern ending in a lone one raises an error
        only when a row reaches it, which depends on the order the server
        evaluates the predicates in, not on the answer."""
        v = self.r.choice([x for x in VOCAB[key] if x]) if VOCAB[key] else "x"
        p = self.r.choice([v[: self.r.randint(1, len(v))] + "%", "%" + v[-self.r.randint(1, len(v)):],
                           v.replace(v[len(v) // 2], "_", 1), v, "%"])
        return q(p.replace("\\", "\\\\"))

    def legacy_atom(self, ref, key):
        r = self.r
        text_ref = f"{ref}::text" if key in ENUM else ref
        kind = r.choice(["eq", "ne", "in", "not_in", "null", "not_null", "like", "not_like", "distinct",
                         "range", "any", "case"])
        if kind == "eq":
            return f"{ref} = {self.literal(key)}"
        if kind == "ne":
            return f"{ref} <> {self.literal(key)}"
        if kind in ("in", "not_in"):
            items = ", ".join(self.literal(key) for _ in range(r.randint(1, 4)))
            return f"{ref} {'NOT IN' if kind == 'not_in' else 'IN'} ({items})"
        if kind == "null":
            return f"{ref} IS NULL"
        if kind == "not_null":
            return f"{ref} IS NOT NULL"
        if kind in ("like", "not_like"):
            return f"{text_ref} {'NOT LIKE' if kind == 'not_like' else r.choice(['LIKE', 'ILIKE'])} {self.pattern(key)}"
        if kind == "distinct":
            return f"{ref} IS {r.choice(['', 'NOT '])}DISTINCT FROM {self.literal(key)}"
        if kind == "range":
            return f"{ref} {r.choice(['<', '<=', '>', '>='])} {self.literal(key)}"
        if kind == "any":
            cast = "order_status[]" if key in ENUM else "text[]"
            vals = [v for v in r.sample(VOCAB[key], r.randint(1, 3))]
            arr = "{" + ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in vals) + "}"
            return f"{ref} = ANY ({q(arr)}::{cast})"
        return f"CASE WHEN {ref} = {self.literal(key)} THEN true ELSE {ref} IS NULL END"

    def other_atom(self, alias, table):
        r = self.r
        n = ROWS[table]
        kind = r.choice(["id", "mod", "unified"] if table != "customers" else ["id", "region"])
        if kind == "id":
            return f"{alias}.id {r.choice(['<', '>', '<='])} {r.randint(1, n)}"
        if kind == "mod":
            return f"{alias}.id % {r.randint(2, 7)} = {r.randint(0, 1)}"
        if kind == "region":
            return f"{alias}.region = {q(r.choice(['north', 'south', 'east', 'west']))}"
        col = r.choice(LEGACY[table])
        ucol, uvals = UNIFIED[(table, col)]
        return f"{alias}.{ucol} = {q(r.choice(uvals))}"

    def query(self):
        r = self.r
        from_, sources = r.choice(FROMS)
        from_ = from_.replace("{join}", r.choice(["JOIN", "JOIN", "LEFT JOIN"]))
        legacy = [(a, t, c) for a, t in sources for c in LEGACY[t]]
        aliases = [a for a, _ in sources]
        names = [c for _, t, c in legacy]

        def ref(a, c):
            # Unqualified where the name is unique among the migrated tables of FROM.
            if len(sources) == 1 or (names.count(c) == 1 and r.random() < 0.3):
                return c if r.random() < 0.5 else f"{a}.{c}"
            return f"{a}.{c}"

        key_of = {(a, c): (t, c) for a, t, c in legacy}
        pick = [r.choice(legacy) for _ in range(r.randint(1, 3))]
        select = []
        for i, (a, t, c) in enumerate(pick):
            rc = ref(a, c)
            textual = f"{rc}::text" if (t, c) in ENUM else rc
            select.append(r.choice([rc, rc, f"{rc} AS v{i}", f"{rc}::text", f"CAST({rc} AS varchar)",
                                    f"upper({textual}) AS u{i}",
                                    f"coalesce({textual}, '~') AS k{i}", f"length({textual}) AS n{i}",
                                    f"{textual} || '!' AS x{i}",
                                    f"CASE WHEN {rc} IS NULL THEN 0 WHEN {rc} = {self.literal((t, c))} THEN 1 "
                                    f"ELSE 2 END AS w{i}"]))
        where = []
        for _ in range(r.randint(0, 3)):
            if r.random() < 0.75:
                a, t, c = r.choice(legacy)
                where.append(self.legacy_atom(ref(a, c), (t, c)))
            else:
                a, t = r.choice(sources)
                where.append(self.other_atom(a, t))
        if len(sources) == 2 and sources[0][1] == sources[1][1] == "orders" and r.random() < 0.3:
            where.append(f"o.status {r.choice(['=', '<>', 'IS DISTINCT FROM'])} p.status")
        if aliases[0] == "o" and r.random() < 0.15:
            where.append(f"EXISTS (SELECT 1 FROM transfers t2 WHERE t2.order_id = o.id AND t2.state "
                         f"{r.choice(['=', '<>'])} {self.literal(('transfers', 'state'))})")
        if aliases[0] == "o" and r.random() < 0.1:
            where.append(f"o.id {r.choice(['IN', 'NOT IN'])} (SELECT t3.order_id FROM transfers t3 "
                         f"WHERE t3.state IN ({self.literal(('transfers', 'state'))}))")
        qry = Query(from_, select, where, glue=r.choice(["AND", "AND", "OR"]), negate=r.random() < 0.1)
        shape = r.random()
        if shape < 0.25:
            # Grouped by legacy columns (and maybe HAVING).
            grouped = list({ref(a, c): (t, c) for a, t, c in pick}.items())
            groups = [g for g, _ in grouped]
            qry.select = groups + ["count(*) AS n"]
            qry.group_by = groups
            having = []
            if r.random() < 0.3:
                having.append(f"count(*) > {r.randint(0, 15)}")
            if r.random() < 0.4:
                # A predicate on a grouped legacy column, seen after grouping.
                g, key = r.choice(grouped)
                having.append(self.legacy_atom(g, key))
            qry.having = " AND ".join(having)
            if r.random() < 0.5:
                qry.order_by = [str(i + 1) for i in range(len(groups))]
                qry.ordered = True  # the group keys are unique
        elif shape < 0.35:
            qry.distinct = True
        else:
            # A total order: legacy columns first, then every source's id.
            keys = [f"{ref(a, c)} {r.choice(['', 'DESC '])}NULLS {r.choice(['FIRST', 'LAST'])}"
                    for a, t, c in r.sample(legacy, r.randint(0, min(2, len(legacy))))]
            qry.select = [f"{a}.id AS id_{a}" for a in aliases] + qry.select
            qry.order_by = keys + [f"{a}.id NULLS LAST" for a in aliases]
            qry.ordered = True
            if r.random() < 0.5:
                qry.limit = f"LIMIT {r.randint(1, 40)}" + (f" OFFSET {r.randint(1, 20)}" if r.random() < 0.3 else "")
        if self.use_params:
            qry.params = self.params
        return qry


def shrink(qry, fails):
    """A smaller Query for which fails(query) still holds (greedy, one part at a time)."""
    def variants(q_):
        for i in range(len(q_.where)):
            yield dataclasses.replace(q_, where=q_.where[:i] + q_.where[i + 1:])
        if q_.negate:
            yield dataclasses.replace(q_, negate=False)
        if q_.glue == "OR":
            yield dataclasses.replace(q_, glue="AND")
        if q_.limit:
            yield dataclasses.replace(q_, limit="")
        if q_.having:
            yield dataclasses.replace(q_, having="")
        if q_.distinct:
            yield dataclasses.replace(q_, distinct=False)
        if not q_.group_by:
            for i in range(len(q_.select)):
                if len(q_.select) > 1:
                    yield dataclasses.replace(q_, select=q_.select[:i] + q_.select[i + 1:])
            for i in range(len(q_.order_by) - 1):
                yield dataclasses.replace(q_, order_by=q_.order_by[:i] + q_.order_by[i + 1:])
    changed = True
    while changed:
        changed = False
        for v in variants(qry):
            if fails(v):
                qry, changed = v, True
                break
    return qry


# --- mutating corpus queries -------------------------------------------------------

_ALL = {v for vals in VOCAB.values() for v in vals}
_LITERAL = re.compile(r"'((?:[^']|'')*)'")


def mutate(sql, rng):
    """A variant of a corpus query: literals from the same vocabulary, flipped
    operators, other LIMITs. None when nothing could change."""
    out = sql

    def lit(m):
        value = m.group(1).replace("''", "'")
        for key, vals in VOCAB.items():
            if value in vals and rng.random() < 0.7:
                choice = rng.choice(vals if key not in ENUM else ORDER)
                return q(choice)
        return m.group(0)

    if "E'" not in out:  # escape-string literals stay as they are
        out = _LITERAL.sub(lit, out)
    flips = [(r"\bNOT IN\b", "IN"), (r"(?<!NOT )\bIN \(", "NOT IN ("), (r" <> ", " = "), (r" = '", " <> '"),
             (r"\bIS NULL\b", "IS NOT NULL"), (r"\bIS NOT NULL\b", "IS NULL"), (r"\bDESC\b", "ASC")]
    for rx, new in flips:
        if rng.random() < 0.15:
            out = re.sub(rx, new, out, count=1)
    out = re.sub(r"\bLIMIT \d+", lambda m: f"LIMIT {rng.randint(1, 50)}", out)
    return out if out != sql else None
