"""REST routes for libraries and their locations."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict

from server.api.deps import SessionDep
from server.libraries import repository
from server.libraries.models import LibraryKind

router = APIRouter(prefix="/libraries", tags=["libraries"])


class LibraryPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    isil: str
    name: str
    kind: LibraryKind
    parent_id: int | None


@router.get("", response_model=list[LibraryPublic])
def list_libraries(session: SessionDep) -> list[LibraryPublic]:
    return [LibraryPublic.model_validate(lib) for lib in repository.list_libraries(session)]


@router.get("/{isil}", response_model=LibraryPublic)
def get_library(isil: str, session: SessionDep) -> LibraryPublic:
    library = repository.get_by_isil(session, isil)
    if library is None:
        raise HTTPException(404, f"no library with ISIL {isil!r}")
    return LibraryPublic.model_validate(library)
