"""Billable-metric expressions: grammar, evaluation, errors and rendering (metering.md §2.6)."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from billow.metering.expressions import (
    MAX_EXPRESSION_LENGTH,
    MAX_NESTING,
    EventContext,
    Expression,
    ExpressionEvaluationError,
    ExpressionSyntaxError,
    Value,
    evaluate_expression,
    format_result,
    parse_expression,
)
from billow.metering.expressions.functions import Function
from billow.metering.expressions.nodes import (
    Arithmetic,
    EventCode,
    EventTimestamp,
    FunctionCall,
    Negate,
    NumberLiteral,
    Operator,
    Property,
    StringLiteral,
)
from billow.metering.expressions.values import display_number, parse_number, property_value

TIMESTAMP = 1_700_000_000


def ctx(**properties: object) -> EventContext:
    return EventContext(code="api_call", timestamp=TIMESTAMP, properties=properties)


def ev(text: str, **properties: object) -> Value:
    return evaluate_expression(text, ctx(**properties))


def D(text: str) -> Decimal:
    return Decimal(text)


# --- the documented example -------------------------------------------------------------------


def test_lago_example_rounds_value_times_units() -> None:
    result = ev("round(event.properties.value * event.properties.units)", value="10.4", units="2")
    assert result == D("21")
    assert isinstance(result, Decimal)
    assert format_result(result) == "21.0"


# --- arithmetic -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2 * 3", "7"),
        ("(1 + 2) * 3", "9"),
        ("2 * 3 + 1", "7"),
        ("10 - 4 - 3", "3"),
        ("10 - (4 - 3)", "9"),
        ("100 / 10 / 5", "2"),
        ("8 / 2 * 4", "16"),
        ("2 * 3 / 4", "1.5"),
        ("1 - 2 + 3", "2"),
        ("1 + 2 - 3 * 4 / 8", "1.5"),
        ("0.1 + 0.2", "0.3"),
        ("10.4 * 2", "20.8"),
        ("007", "7"),
        ("1 / 3 * 3", "0." + "9" * 60),
        ("1+2*3", "7"),
        ("((((1))))", "1"),
    ],
)
def test_arithmetic_and_precedence(text: str, expected: str) -> None:
    assert ev(text) == D(expected)


def test_division_keeps_sixty_significant_digits() -> None:
    assert ev("2 / 3") == D("0." + "6" * 59 + "7")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-2", "-2"),
        ("- 2", "-2"),
        ("-2 * 3", "-6"),
        ("2 * -3", "-6"),
        ("-2 * -3", "6"),
        ("1 - -1", "2"),
        ("1 +- 2", "-1"),
        ("-(2 + 3)", "-5"),
        ("-(-(4))", "4"),
        ("-round(2.5)", "-3"),
        ("-event.properties.v", "-1.5"),
        ("6 / -2 / -3", "1"),
    ],
)
def test_unary_minus(text: str, expected: str) -> None:
    assert ev(text, v="1.5") == D(expected)


def test_negative_zero_is_plain_zero() -> None:
    result = ev("-0 * 5")
    assert result == 0
    assert isinstance(result, Decimal)
    assert not result.is_signed()
    assert format_result(result) == "0.0"


# --- functions --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("round(2.5)", "3"),
        ("round(-2.5)", "-3"),
        ("round(2.4999)", "2"),
        ("round(12.345, 2)", "12.35"),
        ("round(123.456, 2)", "123.46"),
        ("round(123.456, -2)", "100"),
        ("round(1250, -2)", "1300"),
        ("round(-1250, -2)", "-1300"),
        ("round(1234.5, -2)", "1200"),
        ("round(12.34, 1.9)", "12.3"),  # precision truncated toward zero
        ("round(1234, -1.9)", "1230"),
        ("round(1.5, 0)", "2"),
        ("ceil(12.3)", "13"),
        ("ceil(-12.3)", "-12"),
        ("ceil(123.456)", "124"),
        ("ceil(123.456, -2)", "200"),
        ("ceil(12.351, 1)", "12.4"),
        ("ceil(0.001, 2)", "0.01"),
        ("floor(12.3)", "12"),
        ("floor(-12.3)", "-13"),
        ("floor(123.456, 2)", "123.45"),
        ("floor(12.351, 1)", "12.3"),
        ("floor(199, -2)", "100"),
        ("floor(-101, -2)", "-200"),
        ("round(0)", "0"),
        ("round(1.5, 100)", "1.5"),  # nothing to round: the value itself
    ],
)
def test_rounding_functions(text: str, expected: str) -> None:
    assert ev(text) == D(expected)


def test_rounding_keeps_the_requested_scale() -> None:
    assert str(ev("round(1.5, 2)")) == "1.50"
    assert ev("round(event.properties.x, -1)", x="12.34") == 10


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("least(3, 1, 2)", "1"),
        ("greatest(3, 1, 2)", "3"),
        ("least(-1)", "-1"),
        ("greatest(7)", "7"),
        ("least(event.properties.x, 5.0)", "5"),
        ("least(event.properties.x, 15.0)", "12.34"),
        ("greatest(event.properties.x, 5.0)", "12.34"),
        ("greatest(event.properties.x, 15.0)", "15"),
        ("greatest(1, 2) * least(3, 4)", "6"),
        ("least(round(2.5), ceil(2.1), floor(3.9))", "3"),
    ],
)
def test_least_and_greatest(text: str, expected: str) -> None:
    assert ev(text, x="12.34") == D(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("concat('a', 'b')", "ab"),
        ("concat('a')", "a"),
        ("concat('test', '-', 123)", "test-123"),
        ("concat(event.properties.s, '-', 'suffix')", "test-suffix"),
        ("concat(event.properties.f, 'test')", "1.23test"),
        ("concat(1.50)", "1.50"),
        ("concat(round(2.5))", "3"),
        ("concat(round(1.5, 2))", "1.50"),
        ("concat(round(1234, -2))", "1200"),
        ("concat(10.4 * 2)", "20.8"),
        ("concat(1 - 1)", "0"),
        ("concat(-2.5)", "-2.5"),
        ("concat(0.000001)", "0.000001"),
        ("concat(0.0000001)", "1E-7"),
        ("concat(0.00000012)", "1.2E-7"),
        ("concat(event.properties.big)", "1e+20"),
        ("concat(event.code, '-', event.timestamp)", f"api_call-{TIMESTAMP}"),
        ("concat(event.properties.u)", "1000"),
        ("concat(event.properties.none, 'x')", "x"),
        ("concat(event.properties.yes)", "true"),
        ("concat('')", ""),
        ("concat('a\tb')", "a\tb"),
        ("concat(greatest(1.0, 1), least(1.0, 1))", "11.0"),  # ties: last max, first min
    ],
)
def test_concat_stringifies_numbers_and_strings(text: str, expected: str) -> None:
    result = ev(text, s="test", f=1.23, big="1e20", u="1_000", none=None, yes=True)
    assert result == expected
    assert format_result(result) == expected


def test_string_results_and_literals() -> None:
    assert ev("'hello world'") == "hello world"
    assert ev("event.code") == "api_call"
    assert ev("event.properties.s", s="abc") == "abc"


@pytest.mark.parametrize("name", ["round", "ROUND", "Round"])
def test_function_names_lower_upper_or_capitalized(name: str) -> None:
    assert ev(f"{name}(2.5)") == 3


@pytest.mark.parametrize(
    "text",
    ["CEIL(1.1)", "Ceil(1.1)", "FLOOR(2.9)", "Floor(2.9)", "LEAST(2, 9)", "Least(2, 9)", "GREATEST(0, 2)"],
)
def test_other_function_spellings(text: str) -> None:
    assert ev(text) == 2


def test_concat_spellings() -> None:
    assert ev("CONCAT('a', 'b')") == ev("Concat('a', 'b')") == "ab"


@pytest.mark.parametrize("text", ["rOUND(1)", "roUnd(1)", "CeIl(1)", "cONCAT('a')", "round1(1)", "sqrt(4)"])
def test_other_function_spellings_are_syntax_errors(text: str) -> None:
    with pytest.raises(ExpressionSyntaxError):
        parse_expression(text)


# --- variables --------------------------------------------------------------------------------


def test_timestamp_is_integer_seconds() -> None:
    assert ev("event.timestamp") == TIMESTAMP
    assert ev("floor(event.timestamp / 86400)") == 19675
    assert ev("event.timestamp - 1700000000 + 60") == 60
    assert format_result(ev("event.timestamp")) == "1700000000.0"


def test_code_is_always_a_string() -> None:
    context = EventContext(code="123", timestamp=0, properties={})
    assert evaluate_expression("event.code", context) == "123"
    with pytest.raises(ExpressionEvaluationError, match="Expected a decimal"):
        evaluate_expression("event.code + 1", context)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("12", D("12")),
        ("12.34", D("12.34")),
        ("-3.5", D("-3.5")),
        ("+3.5", D("3.5")),
        ("1e3", D("1000")),
        ("1E-2", D("0.01")),
        (".5", D("0.5")),
        ("5.", D("5")),
        ("1_000", D("1000")),
        ("0007", D("7")),
        (7, D("7")),
        (10**30, D("1e30")),
        (D("2.30"), D("2.30")),
        (1.23, D("1.23")),
        ("abc", "abc"),
        ("", ""),
        (" 1", " 1"),
        ("1 ", "1 "),
        ("1,5", "1,5"),
        ("NaN", "NaN"),
        ("Infinity", "Infinity"),
        ("_1", "_1"),
        ("--1", "--1"),
        ("-+1", "-+1"),
        ("1.2.3", "1.2.3"),
        ("e5", "e5"),
        ("0x10", "0x10"),
        ("١٢", "١٢"),  # non-ASCII digits are not digits here
        (None, ""),
        (True, "true"),
        (False, "false"),
        ({"a": 1}, '{"a": 1}'),
    ],
)
def test_property_values(raw: object, expected: Value) -> None:
    value = property_value(raw)
    assert value == expected
    assert type(value) is type(expected)


def test_variables_lists_properties_read() -> None:
    expression = parse_expression(
        "round(event.properties.value * event.properties.units) + event.timestamp "
        "+ least(event.properties.value, 1) * 0"
    )
    assert expression.variables() == frozenset({"value", "units"})
    assert parse_expression("concat(event.code, 'x')").variables() == frozenset()


def test_property_names() -> None:
    assert ev("event.properties.a_1 + event.properties.B2", a_1="1", B2="2") == 3


# --- evaluation errors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("event.properties.foo", "Variable: foo not found"),
        ("1 + event.properties.foo", "Variable: foo not found"),
        ("'a' + 'b'", "Expected a decimal"),
        ("'a' * 2", "Expected a decimal"),
        ("2 / 's'", "Expected a decimal"),
        ("-'a'", "Expected a decimal"),
        ("event.properties.s + 1", "Expected a decimal"),
        ("event.code * 2", "Expected a decimal"),
        ("'a' + event.properties.foo", "Expected a decimal"),  # left operand converts first
        ("round('x')", "Expected a decimal"),
        ("round(1, 'x')", "Expected a decimal"),
        ("round('x', event.properties.foo)", "Expected a decimal"),
        ("round(1, 99999999999999999999)", "Expected a decimal"),
        ("least(1, 'a')", "Expected a decimal"),
        ("greatest(event.properties.s)", "Expected a decimal"),
        ("concat('a', event.properties.foo)", "Variable: foo not found"),
        ("1 / 0", "Division by zero"),
        ("0 / 0", "Division by zero"),
        ("1 / (2 - 2)", "Division by zero"),
        ("event.properties.n / event.properties.z", "Division by zero"),
        ("ceil(5, -2000000)", "out of range"),
        ("event.properties.huge", "out of range"),
        ("event.properties.huge * event.properties.huge", "out of range"),
    ],
)
def test_evaluation_errors(text: str, message: str) -> None:
    with pytest.raises(ExpressionEvaluationError, match=message):
        ev(text, s="abc", n="1", z="0.00", huge="1e900000")


def test_evaluation_error_is_a_value_error_with_plain_message() -> None:
    with pytest.raises(ValueError) as info:
        ev("event.properties.foo")
    assert str(info.value) == "Variable: foo not found"


# --- syntax -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        " 1 + 2 ",
        "1+2",
        "round (1.5)",
        "round( 1.5 , 1 )",
        "concat( 'a' ,'b' )",
        "(  1  )",
        "- 1",
        "concat('a\tb\nc')",  # tabs and newlines are fine inside a string
    ],
)
def test_spaces_are_whitespace(text: str) -> None:
    parse_expression(text)


@pytest.mark.parametrize(
    "text",
    ["1\t+ 2", "1 +\n2", "\t1", "1\r", "1\u00a0+ 2", "round(1,\t2)", "event. code", "event .code"],
)
def test_other_whitespace_is_a_syntax_error(text: str) -> None:
    with pytest.raises(ExpressionSyntaxError):
        parse_expression(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "1 +",
        "+ 1",
        "1 + + 2",
        "--1",
        "- -1",
        "(1",
        "1)",
        "()",
        "1 2",
        "1.",
        ".5",
        "1.2.3",
        "1e5",
        "1,5",
        "'abc",
        "abc'",
        "'it''s'",
        "foo",
        "event",
        "event.",
        "event.codes",
        "event.timestamp1",
        "event.properties",
        "event.properties.",
        "event.properties.1a",
        "event.properties._a",
        "event.properties.a-b",
        "event.properties.a.b",
        "event.prop.a",
        "Event.code",
        "EVENT.CODE",
        "event.Code",
        "round",
        "round 1",
        "round()",
        "round(1, 2, 3)",
        "ceil(1, 2, 3)",
        "floor()",
        "concat()",
        "least()",
        "greatest(1,)",
        "round(,1)",
        "2(3)",
        "(1)(2)",
        "1 % 2",
        "1 ^ 2",
        "2 ** 3",
        "1 = 1",
        '"double"',
        "true",
        "round[1]",
    ],
)
def test_syntax_errors(text: str) -> None:
    with pytest.raises(ExpressionSyntaxError):
        parse_expression(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Expression is empty"),
        ("1 +", "Expected an expression at column 4, found end of expression"),
        ("1\t+ 2", r"Unexpected character '\\t' at column 2"),
        ("'abc", "Unterminated string starting at column 1"),
        ("(1", r"Expected '\)' at column 3"),
        ("round(1, 2, 3)", "Wrong number of arguments to function round: expected 1 or 2, got 3"),
        ("foo + 1", "Unknown name 'foo' at column 1"),
    ],
)
def test_syntax_error_messages(text: str, message: str) -> None:
    with pytest.raises(ExpressionSyntaxError, match=message):
        parse_expression(text)


# --- limits -----------------------------------------------------------------------------------


def test_length_limit() -> None:
    longest = "1" + " + 1" * ((MAX_EXPRESSION_LENGTH - 1) // 4)
    assert len(longest) <= MAX_EXPRESSION_LENGTH
    assert ev(longest) == (MAX_EXPRESSION_LENGTH - 1) // 4 + 1
    with pytest.raises(ExpressionSyntaxError, match="too long"):
        parse_expression("1" * (MAX_EXPRESSION_LENGTH + 1))


def _nested(levels: int) -> str:
    return "-round(1 + " * levels + "event.properties.x" + ")" * levels


def test_nesting_limit_at_the_edge_works_everywhere() -> None:
    expression = parse_expression(_nested(MAX_NESTING))
    assert expression.evaluate(ctx(x="1")) == -1 if MAX_NESTING % 2 else 1
    assert expression.variables() == frozenset({"x"})
    assert parse_expression(expression.to_source()) == expression
    hash(expression)
    repr(expression)
    assert parse_expression("(" * MAX_NESTING + "1" + ")" * MAX_NESTING) == NumberLiteral(D("1"))


@pytest.mark.parametrize(
    "text",
    [
        _nested(MAX_NESTING + 1),
        "(" * (MAX_NESTING + 1) + "1" + ")" * (MAX_NESTING + 1),
        "(" * MAX_EXPRESSION_LENGTH,
        "round(" * 100,
    ],
)
def test_nesting_too_deep_is_a_clean_syntax_error(text: str) -> None:
    with pytest.raises(ExpressionSyntaxError, match="nested too deeply"):
        parse_expression(text)


# --- the tree ---------------------------------------------------------------------------------


def test_tree_shape_and_canonical_source() -> None:
    expression = parse_expression("-round(event.properties.a*(2+event.properties.b),2)/3-4+CONCAT('x')")
    assert expression == Arithmetic(
        Arithmetic(
            Negate(
                FunctionCall(
                    Function.ROUND,
                    (
                        Arithmetic(
                            Property("a"),
                            (
                                (
                                    Operator.MULTIPLY,
                                    Arithmetic(NumberLiteral(D("2")), ((Operator.ADD, Property("b")),)),
                                ),
                            ),
                        ),
                        NumberLiteral(D("2")),
                    ),
                )
            ),
            ((Operator.DIVIDE, NumberLiteral(D("3"))),),
        ),
        (
            (Operator.SUBTRACT, NumberLiteral(D("4"))),
            (Operator.ADD, FunctionCall(Function.CONCAT, (StringLiteral("x"),))),
        ),
    )
    assert str(expression) == "-round(event.properties.a * (2 + event.properties.b), 2) / 3 - 4 + concat('x')"
    assert str(parse_expression("(1 - 2) - 3")) == "(1 - 2) - 3"
    assert str(parse_expression("1 - (2 - 3)")) == "1 - (2 - 3)"
    assert str(parse_expression("-(-1)")) == "-(-1)"
    assert str(parse_expression("event.code")) == "event.code"
    assert parse_expression("event.timestamp") == EventTimestamp()
    assert parse_expression("event.code") == EventCode()


def test_tree_is_immutable_and_hashable() -> None:
    expression = parse_expression("1 + event.properties.a")
    assert isinstance(expression, Expression)
    with pytest.raises(dataclasses.FrozenInstanceError):
        expression.first = NumberLiteral(D("2"))  # type: ignore[attr-defined]
    assert hash(expression) == hash(parse_expression("1+event.properties.a"))


@pytest.mark.parametrize(
    "build",
    [
        lambda: NumberLiteral(D("-1")),
        lambda: NumberLiteral(D("NaN")),
        lambda: StringLiteral("it's"),
        lambda: Property("a-b"),
        lambda: Arithmetic(NumberLiteral(D("1")), ()),
        lambda: Arithmetic(
            NumberLiteral(D("1")),
            ((Operator.ADD, NumberLiteral(D("1"))), (Operator.MULTIPLY, NumberLiteral(D("1")))),
        ),
        lambda: FunctionCall(Function.ROUND, ()),
        lambda: FunctionCall(Function.CONCAT, ()),
    ],
)
def test_invalid_trees_are_refused(build: object) -> None:
    with pytest.raises(ValueError):
        build()  # type: ignore[operator]


# --- rendering --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (D("21"), "21.0"),
        (D("21.000"), "21.0"),
        (D("0"), "0.0"),
        (D("-0.00"), "0.0"),
        (D("1.50"), "1.5"),
        (D("-3"), "-3.0"),
        (D("0.125"), "0.125"),
        (D("2177.4193548387096774"), "2177.4193548387096774"),
        (D("1E+3"), "1000.0"),
        (D("1E-7"), "0.0000001"),
        (D("1E+70"), "1" + "0" * 70 + ".0"),
        (D("0." + "3" * 70), "0." + "3" * 70),
        ("text", "text"),
        ("", ""),
    ],
)
def test_format_result(value: Value, expected: str) -> None:
    assert format_result(value) == expected


# --- properties -------------------------------------------------------------------------------

CONTEXT = ctx(a="10.4", b="-3", n=7, s="text", big="1e20")
PROPERTY_NAMES = st.sampled_from(["a", "b", "n", "s", "big", "missing"])
FUNCTION_ARITIES = {
    Function.ROUND: (1, 2),
    Function.CEIL: (1, 2),
    Function.FLOOR: (1, 2),
    Function.LEAST: (1, 3),
    Function.GREATEST: (1, 3),
    Function.CONCAT: (1, 3),
}

leaves: st.SearchStrategy[Expression] = st.one_of(
    st.decimals(min_value=0, max_value=10**6, places=3, allow_nan=False, allow_infinity=False).map(
        lambda d: NumberLiteral(d.copy_abs())
    ),
    st.text(st.characters(blacklist_characters="'", blacklist_categories=["Cs"]), max_size=4).map(
        StringLiteral
    ),
    st.just(EventCode()),
    st.just(EventTimestamp()),
    PROPERTY_NAMES.map(Property),
)


def _extend(children: st.SearchStrategy[Expression]) -> st.SearchStrategy[Expression]:
    chains = st.sampled_from(
        [(Operator.ADD, Operator.SUBTRACT), (Operator.MULTIPLY, Operator.DIVIDE)]
    ).flatmap(
        lambda ops: st.builds(
            Arithmetic,
            children,
            st.lists(st.tuples(st.sampled_from(ops), children), min_size=1, max_size=3).map(tuple),
        )
    )
    calls = st.sampled_from(list(Function)).flatmap(
        lambda f: st.builds(
            FunctionCall,
            st.just(f),
            st.lists(children, min_size=FUNCTION_ARITIES[f][0], max_size=FUNCTION_ARITIES[f][1]).map(tuple),
        )
    )
    return st.one_of(children.map(Negate), chains, calls)


trees = st.recursive(leaves, _extend, max_leaves=12)


def _outcome(expression: Expression) -> tuple[str, object]:
    try:
        value = expression.evaluate(CONTEXT)
    except ExpressionEvaluationError as exc:
        return ("error", str(exc))
    return ("value", value if isinstance(value, str) else (value, display_number(value)))


@given(trees)
def test_printed_tree_parses_back_to_the_same_tree_and_value(tree: Expression) -> None:
    source = tree.to_source()
    assume(len(source) <= MAX_EXPRESSION_LENGTH and source.count("(") <= MAX_NESTING)
    parsed = parse_expression(source)
    assert parsed == tree
    assert _outcome(parsed) == _outcome(tree)
    assert parsed.variables() == tree.variables()


def _half_up(n: int, d: int = 0) -> int:
    q: int = 10 ** max(0, -d)
    sign = -1 if n < 0 else 1
    return sign * ((abs(n) * 2 + q) // (2 * q)) * q


def _ceil(n: int, d: int = 0) -> int:
    q: int = 10 ** max(0, -d)
    return -((-n) // q) * q


def _floor(n: int, d: int = 0) -> int:
    q: int = 10 ** max(0, -d)
    return (n // q) * q


def _least(*values: int) -> int:
    return min(values)


def _greatest(*values: int) -> int:
    return max(values)


PYTHON_FUNCTIONS = {"round": _half_up, "ceil": _ceil, "floor": _floor, "least": _least, "greatest": _greatest}


def _negated(source: str) -> str:
    return f"-({source})" if source.startswith("-") else f"-{source}"


def _integer_source(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(children, st.sampled_from(["+", "-", "*"]), children).map(
            lambda t: f"{t[0]} {t[1]} {t[2]}"
        ),
        children.map(lambda s: f"({s})"),
        children.map(_negated),
        st.tuples(st.sampled_from(["least", "greatest"]), st.lists(children, min_size=1, max_size=3)).map(
            lambda t: f"{t[0]}({', '.join(t[1])})"
        ),
        st.tuples(st.sampled_from(["round", "ceil", "floor"]), children, st.integers(-3, 3)).map(
            lambda t: f"{t[0]}({t[1]}, {t[2]})"
        ),
    )


integer_sources = st.recursive(st.integers(0, 999).map(str), _integer_source, max_leaves=10)


@given(integer_sources)
def test_integer_arithmetic_matches_python_exactly(source: str) -> None:
    assume(source.count("(") <= MAX_NESTING)
    # Python reads these expressions with the same precedence (unary minus tightest, left-assoc).
    expected = eval(source, {"__builtins__": {}}, PYTHON_FUNCTIONS)
    result = ev(source)
    assert result == expected
    assert format_result(result) == f"{expected}.0"


FUZZ_TOKENS = [
    "1",
    "2.5",
    "0",
    "'x'",
    "''",
    "event.code",
    "event.timestamp",
    "event.properties.a",
    "event.properties.s",
    "event.properties.missing",
    "round",
    "CEIL",
    "Floor",
    "least",
    "GREATEST",
    "concat",
    "(",
    ")",
    ",",
    "+",
    "-",
    "*",
    "/",
    " ",
    "\t",
    ".",
    "'",
    "e",
    "_",
]


@given(
    st.one_of(
        st.text(max_size=40),
        st.lists(st.sampled_from(FUZZ_TOKENS), max_size=30).map("".join),
        st.lists(st.sampled_from(FUZZ_TOKENS), max_size=30).map(" ".join),
    )
)
def test_parser_and_evaluator_only_raise_their_own_errors(text: str) -> None:
    try:
        expression = parse_expression(text)
    except ExpressionSyntaxError:
        return
    try:
        value = expression.evaluate(CONTEXT)
    except ExpressionEvaluationError:
        return
    assert isinstance(value, Decimal | str)
    format_result(value)


finite_decimals = st.decimals(allow_nan=False, allow_infinity=False)


@given(finite_decimals)
def test_format_result_is_plain_and_exact(value: Decimal) -> None:
    assume(abs(value.adjusted()) < 200)
    text = format_result(value)
    assert "E" not in text and "e" not in text
    assert "." in text
    assert Decimal(text) == value


@given(finite_decimals)
def test_concat_number_text_reads_back_as_the_same_number(value: Decimal) -> None:
    text = display_number(value)
    parsed = parse_number(text)
    assert parsed is not None
    assert parsed == value


@given(finite_decimals)
def test_python_decimal_text_is_a_number(value: Decimal) -> None:
    assert parse_number(str(value)) == value
