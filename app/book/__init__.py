"""The book: positions per underlying as arrays, valued in the desk units of CONTRACT §1."""

from app.book.book import Book, Position
from app.book.market import UnderlyingMarket
from app.book.risk import OptionRows, UnderlyingRisk

__all__ = ["Book", "OptionRows", "Position", "UnderlyingMarket", "UnderlyingRisk"]
