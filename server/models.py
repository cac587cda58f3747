"""Every domain's tables, imported once so that ``Base.metadata`` is complete (Alembic, tests)."""

from server.audit.models import AuditEntry
from server.catalog.models import (
    BibIdentifier,
    BibRecord,
    Holding,
    Item,
    ItemStatus,
    ItemTag,
    ItemType,
    SecurityState,
)
from server.circulation.models import (
    ClientTransaction,
    Fee,
    FeeKind,
    Hold,
    HoldState,
    Loan,
    LoanPolicy,
    LoanState,
    Payment,
    Renewal,
)
from server.db import Base
from server.devices.models import (
    AlarmClass,
    Device,
    DeviceCommand,
    DeviceEvent,
    DeviceKind,
    DeviceState,
    GateAlarm,
    TelemetrySample,
    VisitorCount,
)
from server.ingest.models import AccountAccess, MqttAccount
from server.libraries.models import (
    Closure,
    Library,
    LibraryCode,
    LibraryKind,
    LibraryParentPeriod,
    Location,
    OpeningDay,
)
from server.mail.models import OutgoingMail
from server.patrons.models import CardKind, Patron, PatronBlock, PatronCard, PatronCategory
from server.sip2.models import Sip2Account
from server.staff.models import Role, StaffRole, StaffUser
from server.union.models import HarvestSource, RecordMerge, SourceRecord

__all__ = [
    "AccountAccess",
    "AlarmClass",
    "AuditEntry",
    "Base",
    "BibIdentifier",
    "BibRecord",
    "CardKind",
    "ClientTransaction",
    "Closure",
    "Device",
    "DeviceCommand",
    "DeviceEvent",
    "DeviceKind",
    "DeviceState",
    "Fee",
    "FeeKind",
    "GateAlarm",
    "HarvestSource",
    "Hold",
    "HoldState",
    "Holding",
    "Item",
    "ItemStatus",
    "ItemTag",
    "ItemType",
    "Library",
    "LibraryCode",
    "LibraryKind",
    "LibraryParentPeriod",
    "Loan",
    "LoanPolicy",
    "LoanState",
    "Location",
    "MqttAccount",
    "OpeningDay",
    "OutgoingMail",
    "Patron",
    "PatronBlock",
    "PatronCard",
    "PatronCategory",
    "Payment",
    "RecordMerge",
    "Renewal",
    "Role",
    "SecurityState",
    "Sip2Account",
    "SourceRecord",
    "StaffRole",
    "StaffUser",
    "TelemetrySample",
    "VisitorCount",
]
