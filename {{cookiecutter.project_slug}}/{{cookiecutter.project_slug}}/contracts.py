"""Message contracts: what each socket accepts and sends, declared once on its consumer.

    # orders/contracts.py
    ORDERS = Contract(receives=[PlaceOrder], sends=[OrderPlaced])

    # orders/consumers.py
    class OrderConsumer(JsonConsumer):
        contract = "orders.contracts.ORDERS"

A consumer's `contract` is a Contract, or the dotted path of one: a path is imported when the socket first needs
it (its first frame, or the description), so the server starts without pydantic and the contract's models.

Messages are pydantic models, best subclasses of messages.Message: strict (`"5"` is not an integer, `true` not a
number) and closed (a key the model does not name is refused). A JsonConsumer validates every frame against its
contract's `receives` before its handler runs, in pydantic's JSON mode (a datetime, a UUID or an enum arrives as its
JSON text); a frame that does not match gets {"error": ...} naming the field, and the socket stays open. `sends` is
not checked at run time: it is what clients may expect, and what the description says.

asyncapi.py builds the AsyncAPI document of every socket from the routes and these contracts
(`manage.py asyncapi`, `/asyncapi.json`). This module imports pydantic only when a contract is made or checks a
frame: every Django process loads it (through consumers.py), and most never need pydantic.
"""

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Union

from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from pydantic import BaseModel, TypeAdapter, ValidationError

# An error frame names at most this many problems: enough to fix a frame, never a wall of text.
MAX_PROBLEMS = 3


class InvalidMessage(ValueError):
    """A frame its contract does not accept; str(error) says why, naming the field, in a sentence for the client."""


class Contract:
    """What a socket accepts (`receives`) and sends (`sends`): message models (messages.py).

    `receives` empty: the socket accepts no frame. [AnyJson]: any JSON, unchecked. [Text]: a text socket (not a
    JsonConsumer: nothing is validated). `parameters` describes the route's parameters ({"room": "The room's
    name"}), `query` the query string the socket reads (a model: its fields, all optional).
    """

    def __init__(
        self,
        receives: Iterable["type[BaseModel]"] = (),
        sends: Iterable["type[BaseModel]"] = (),
        *,
        parameters: dict[str, str] | None = None,
        query: "type[BaseModel] | None" = None,
    ) -> None:
        from {{ cookiecutter.project_slug }}.messages import AnyJson

        self.receives, self.sends = tuple(receives), tuple(sends)
        self.parameters, self.query = dict(parameters or {}), query
        self.accepts_anything = AnyJson in self.receives
        self.adapter: TypeAdapter[Any] | None = None
        self.invalid: type[ValidationError] | None = None  # pydantic's ValidationError, once imported

    def __repr__(self) -> str:
        names = [[model.__name__ for model in models] for models in (self.receives, self.sends)]
        return f"Contract(receives={names[0]}, sends={names[1]})"

    def validate(self, text: str) -> Any:
        """The message (a model instance) the JSON frame `text` holds; raises InvalidMessage naming the field."""
        if self.accepts_anything:
            return None
        if not self.receives:
            raise InvalidMessage("This socket accepts no messages: it only sends.")
        if self.adapter is None or self.invalid is None:
            from pydantic import TypeAdapter, ValidationError

            # One model: its own errors ("start.steps: ..."); several: a union, whose errors name the model.
            kind: Any = self.receives[0] if len(self.receives) == 1 else Union[self.receives]  # noqa: UP007
            self.adapter, self.invalid = TypeAdapter(kind), ValidationError
        try:
            return self.adapter.validate_json(text)
        except self.invalid as error:
            raise InvalidMessage(explain(error)) from None


def explain(error: "ValidationError") -> str:
    """One sentence for the client: each problem's field (`start.steps`, `items[0]`) and what was wrong."""
    problems = []
    for problem in error.errors(include_url=False, include_input=False)[:MAX_PROBLEMS]:
        where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in problem["loc"]).lstrip(".")
        problems.append(f"{where}: {problem['msg']}" if where else problem["msg"])
    more = error.error_count() - len(problems)
    return "; ".join(problems) + (f" (and {more} more)" if more > 0 else "") + "."


def contract_for(consumer: type[Any]) -> Contract | None:
    """The consumer class's `contract`: a Contract, the one its dotted path names (imported once), or None."""
    if consumer not in resolved:
        contract = getattr(consumer, "contract", None)
        if isinstance(contract, str):
            contract = import_string(contract)
        if contract is not None and not isinstance(contract, Contract):
            raise TypeError(f"{consumer.__qualname__}.contract is {contract!r}: give a Contract, or its dotted path.")
        resolved[consumer] = contract
    return resolved[consumer]


resolved: dict[type[Any], Contract | None] = {}  # contract_for()'s answers, by consumer class
