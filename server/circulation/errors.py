"""Domain errors of circulation: one tree, each with a stable ``code`` and a sentence a patron can read.

No transport knowledge lives here: the SIP2 layer (``server.sip2.handlers``) and the HTTP layer
(``server.circulation.api``) each map these to their own fields or status codes, in one place each.

Exceptions::

    CirculationError
     ├── NotFound
     │    ├── PatronNotFound          unknown card number
     │    ├── ItemNotFound            unknown item barcode
     │    ├── LoanNotFound            the item is not on loan (renew, lost, claims returned)
     │    ├── HoldNotFound
     │    └── FeeNotFound
     ├── PatronBlocked               expired card, too many items, fees over the limit, staff block, PIN locked
     ├── InvalidPin                  wrong PIN (attempts are counted)
     ├── ItemNotLoanable             reference item, withdrawn, lost, in processing
     ├── ItemAlreadyOnLoan           on loan to somebody else
     ├── ItemOnHoldForAnother        waiting on the hold shelf for another patron
     ├── RenewalRefused              limit of renewals reached, item requested by another patron
     ├── TransitionNotAllowed        the loan is not in a state this operation starts from
     ├── HoldRefused                 already holds it, already borrowed it, not holdable
     ├── PaymentRefused              nothing owed, amount not positive
     └── OperationNotPermitted       the channel may not perform this operation
"""

from __future__ import annotations


class CirculationError(Exception):
    """Base of every circulation error; ``code`` is stable (logs, support, clients), ``message`` is for people."""

    code = "circulation_error"
    default_message = "Không thực hiện được / The operation could not be completed"

    def __init__(self, message: str | None = None, *, detail: str | None = None) -> None:
        self.message = message or self.default_message
        self.detail = detail
        super().__init__(self.message if detail is None else f"{self.message} ({detail})")


class NotFound(CirculationError):
    code = "not_found"


class PatronNotFound(NotFound):
    code = "patron_not_found"
    default_message = "Không tìm thấy thẻ bạn đọc / Library card not recognised"


class ItemNotFound(NotFound):
    code = "item_not_found"
    default_message = "Không tìm thấy tài liệu / Item not recognised — please see staff"


class LoanNotFound(NotFound):
    code = "loan_not_found"
    default_message = "Tài liệu này không được mượn / This item is not on loan"


class HoldNotFound(NotFound):
    code = "hold_not_found"
    default_message = "Không tìm thấy yêu cầu đặt mượn / Hold request not found"


class FeeNotFound(NotFound):
    code = "fee_not_found"
    default_message = "Không tìm thấy khoản phí / Fee not found"


class PatronBlocked(CirculationError):
    """The patron may not borrow; ``reasons`` are the plain-language blocks (each also has a code)."""

    code = "patron_blocked"
    default_message = "Thẻ bạn đọc đang bị khoá / Your card cannot be used to borrow — please see staff"

    def __init__(self, reasons: tuple[tuple[str, str], ...] = (), message: str | None = None) -> None:
        self.reasons = reasons
        super().__init__(message or (reasons[0][1] if reasons else None))


class InvalidPin(CirculationError):
    code = "invalid_pin"
    default_message = "Mã PIN không đúng / Wrong PIN"


class ItemNotLoanable(CirculationError):
    code = "item_not_loanable"
    default_message = "Tài liệu này không cho mượn về nhà / This item cannot be borrowed"


class ItemAlreadyOnLoan(CirculationError):
    code = "item_already_on_loan"
    default_message = "Tài liệu đang được người khác mượn / This item is on loan to someone else — please see staff"


class ItemOnHoldForAnother(CirculationError):
    code = "item_on_hold_for_another"
    default_message = "Tài liệu đang được giữ cho bạn đọc khác / This item is reserved for another reader"


class RenewalRefused(CirculationError):
    code = "renewal_refused"
    default_message = "Không gia hạn được / This item cannot be renewed"


class TransitionNotAllowed(CirculationError):
    code = "transition_not_allowed"
    default_message = "Thao tác không hợp lệ với trạng thái hiện tại / Not possible in the item's current state"


class HoldRefused(CirculationError):
    code = "hold_refused"
    default_message = "Không đặt mượn được / The hold could not be placed"


class PaymentRefused(CirculationError):
    code = "payment_refused"
    default_message = "Không nhận được thanh toán / The payment could not be accepted"


class OperationNotPermitted(CirculationError):
    code = "operation_not_permitted"
    default_message = "Thao tác không được phép tại đây / This operation is not allowed here"
