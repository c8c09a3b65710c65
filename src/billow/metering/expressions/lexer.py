"""Splits expression text into tokens. Only the space character separates tokens."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from .errors import ExpressionSyntaxError


class TokenKind(Enum):
    value: str

    NUMBER = "number"
    STRING = "string"
    NAME = "name"
    PLUS = "'+'"
    MINUS = "'-'"
    STAR = "'*'"
    SLASH = "'/'"
    LPAREN = "'('"
    RPAREN = "')'"
    COMMA = "','"
    END = "end of expression"


@dataclass(frozen=True, slots=True)
class Token:
    kind: TokenKind
    text: str
    column: int  # 1-based

    def describe(self) -> str:
        if self.kind in (TokenKind.NUMBER, TokenKind.STRING, TokenKind.NAME):
            return f"{self.kind.value} {self.text}"
        return self.kind.value


_PUNCTUATION = {
    "+": TokenKind.PLUS,
    "-": TokenKind.MINUS,
    "*": TokenKind.STAR,
    "/": TokenKind.SLASH,
    "(": TokenKind.LPAREN,
    ")": TokenKind.RPAREN,
    ",": TokenKind.COMMA,
}
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*")


def tokenize(text: str) -> list[Token]:
    """Tokens of ``text``, ending with an ``END`` token."""
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        char = text[position]
        column = position + 1
        if char == " ":
            position += 1
            continue
        kind = _PUNCTUATION.get(char)
        if kind is not None:
            tokens.append(Token(kind, char, column))
            position += 1
            continue
        if char == "'":
            closing = text.find("'", position + 1)
            if closing < 0:
                raise ExpressionSyntaxError(f"Unterminated string starting at column {column}")
            tokens.append(Token(TokenKind.STRING, text[position : closing + 1], column))
            position = closing + 1
            continue
        match = _NUMBER.match(text, position) or _NAME.match(text, position)
        if match is None:
            raise ExpressionSyntaxError(f"Unexpected character {char!r} at column {column}")
        kind = TokenKind.NUMBER if char.isascii() and char.isdigit() else TokenKind.NAME
        tokens.append(Token(kind, match.group(), column))
        position = match.end()
    tokens.append(Token(TokenKind.END, "", len(text) + 1))
    return tokens
