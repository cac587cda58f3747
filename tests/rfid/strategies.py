"""Hypothesis strategies for library tags and their fields."""

from __future__ import annotations

from hypothesis import strategies as st

from edge.tags import LibraryTag
from edge.tags.rfid501 import ITEM_TYPES

printable_ascii = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=16)
# text fields: any Unicode except control characters (C0, DEL, C1) and surrogates; Vietnamese included
safe_char = st.characters(
    blacklist_categories=("Cs", "Cc"),
    blacklist_characters="\x7f",
)
vietnamese = st.sampled_from(
    ["Truyện Kiều", "Nhật ký trong tù", "Số đỏ", "Dế Mèn phiêu lưu ký", "Tắt đèn", "Đất rừng phương Nam"]
)
text_field = st.one_of(vietnamese, st.text(safe_char, min_size=1, max_size=30))
isil = st.builds(
    lambda prefix, rest: f"{prefix}-{rest}",
    st.sampled_from(["VN", "DK", "US", "DE", "O", "ZDB", "vn"]),
    st.text(
        st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-:/"), min_size=1, max_size=9
    ),
)


@st.composite
def part3_tags(draw: st.DrawFn) -> LibraryTag:
    parts = draw(st.integers(1, 255))
    return LibraryTag(
        primary_item_id=draw(
            st.one_of(
                printable_ascii,
                st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=17, max_size=40),
            )
        ),
        owner_isil=draw(st.none() | isil),
        type_of_usage=draw(st.integers(0, 15)),
        parts_in_set=parts,
        part_number=draw(st.integers(1, parts)),
        shelf_location=draw(st.none() | text_field),
        title=draw(st.none() | text_field),
        media_format=draw(st.none() | st.integers(1, 255)),
        marc_media_format=draw(st.none() | text_field),
        supplier_id=draw(st.none() | text_field),
        gs1_product_id=draw(st.none() | st.text("0123456789", min_size=1, max_size=14)),
        ill_borrowing_isil=draw(st.none() | isil),
    )


@st.composite
def part2_tags(draw: st.DrawFn) -> LibraryTag:
    with_set = draw(st.booleans())
    parts = draw(st.integers(2, 99)) if with_set else None
    usage = draw(st.booleans())
    return LibraryTag(
        primary_item_id=draw(st.one_of(st.text("0123456789", min_size=1, max_size=19), text_field)),
        owner_isil=draw(st.none() | isil),
        type_of_usage=draw(st.integers(0, 15)) if usage else None,
        usage_qualifier=draw(st.integers(0, 15)) if usage else None,
        parts_in_set=parts,
        part_number=draw(st.integers(1, parts)) if parts else None,
        shelf_location=draw(st.none() | text_field),
        title=draw(st.none() | text_field),
        onix_media_format=draw(st.none() | text_field),
        local_data_a=draw(st.none() | text_field),
        local_data_c=draw(st.none() | text_field),
        alternative_owner_isil=draw(st.none() | isil),
        supplier_invoice_number=draw(st.none() | st.text("ABCXYZ_[]^", min_size=1, max_size=12)),
    )


@st.composite
def rfid501_tags(draw: st.DrawFn) -> LibraryTag:
    parts = draw(st.integers(1, 15))
    extra = {
        "item_type": str(draw(st.sampled_from(sorted(ITEM_TYPES)))),
        "branch": str(draw(st.integers(0, 4095))),
        "library": str(draw(st.integers(0, (1 << 20) - 1))),
        "custom": str(draw(st.integers(-(1 << 31), (1 << 31) - 1))),
    }
    return LibraryTag(
        primary_item_id=draw(printable_ascii),
        parts_in_set=parts,
        part_number=draw(st.integers(1, parts)),
        extra=tuple(sorted(extra.items())),
    )
