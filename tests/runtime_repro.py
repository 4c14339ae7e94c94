"""CPython 3.11's collector frees memory an attribute store is still using: SQLAlchemy's session close.

Run as a script (tests/test_runtime.py does): mapped objects kept alive only by their relationship cycles
are loaded, then the session closes while the collector runs at every chance. On CPython 3.11 without
feedback_app/runtime.py's guard this dies with SIGSEGV within a second; with the guard, or on 3.12+, it
prints "survived".

    python tests/runtime_repro.py guard|no-guard [rounds]
"""

from __future__ import annotations

import gc
import sys

from sqlalchemy import ForeignKey, Integer, create_engine, insert
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

if sys.argv[1:2] == ["guard"]:
    from feedback_app.runtime import guard_instance_states

    guard_instance_states()


class Base(DeclarativeBase):
    pass


class Parent(Base):
    __tablename__ = "parent"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    children: Mapped[list[Child]] = relationship(back_populates="parent")


class Child(Base):
    __tablename__ = "child"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    parent_id: Mapped[int] = mapped_column(ForeignKey("parent.id"))
    parent: Mapped[Parent] = relationship(back_populates="children")


def main(rounds: int) -> None:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(Parent), [{"id": i} for i in range(1, 6)])
        conn.execute(insert(Child), [{"id": i, "parent_id": i % 5 + 1} for i in range(1, 101)])
    for _ in range(rounds):
        session = Session(engine)
        for parent in session.query(Parent).all():
            for child in parent.children:
                assert child.parent is parent  # parent <-> children: cycles only the collector frees
        del parent, child
        spare = [{} for _ in range(50)]  # use up free dicts: the next one is a fresh allocation
        gc.set_threshold(1)  # collect at every allocation the collector watches
        session.close()  # SQLAlchemy writes on each object's state as it detaches it
        gc.set_threshold(700, 10, 10)
        del spare
    print("survived", sys.version.split()[0])


if __name__ == "__main__":
    main(int(sys.argv[2]) if len(sys.argv) > 2 else 300)
