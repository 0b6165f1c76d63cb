"""A deterministic, fictional set of report records: for the tests, the docs' example and trying the CLI.

Every tricky case of the counting rules appears: revisions (also across periods), shadow results, a test
platform, another platform, reversals on appeal, pending appeals, authority requests answered late, partly or
not at all, blogs suspended and closed, records just outside the period in Vietnam time.
"""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, date, datetime, timedelta, timezone

from moderation.reports.records import (
    Action,
    AppealOutcome,
    AppealRecord,
    AuthorityRequestRecord,
    AuthorityTarget,
    Automation,
    BlogRecord,
    BlogStatus,
    Category,
    Citation,
    DecisionRecord,
    ExtraTable,
    ProviderProfile,
    ReportInput,
    Source,
    StatusChange,
    StrikeKind,
    StrikeRecord,
    SubmissionKind,
)

ICT = timezone(timedelta(hours=7))
PLATFORM = "blog-viet"

PROFILE = ProviderProfile(
    provider_name="Công ty Cổ phần Mạng xã hội Blog Việt",
    registration_number="123/GXN-TTĐT",
    registration_date=date(2009, 3, 16),
    service_start_date=date(2009, 4, 1),
    office_address="Số 18 phố Nguyễn Du, phường Nguyễn Du, quận Hai Bà Trưng, Hà Nội",
    representative_name="Nguyễn Thị Hương",
    representative_phone="024 3822 0000",
    representative_email="phapche@blogviet.example.vn",
    place="Hà Nội",
)

CATEGORIES = (
    Category(
        "anti-state",
        "Chống Nhà nước, gây phương hại an ninh quốc gia",
        "Opposing the State, harming national security",
        Citation("Nghị định 97/2008/NĐ-CP", "6", "1", "a"),
    ),
    Category(
        "slander",
        "Xúc phạm danh dự, nhân phẩm, uy tín của cá nhân, tổ chức",
        "Slander and insult of persons or organisations",
        Citation("Nghị định 97/2008/NĐ-CP", "6", "1", "c"),
    ),
    Category(
        "impersonation",
        "Mạo danh cá nhân, tổ chức",
        "Impersonation",
        Citation("Thông tư 07/2008/TT-BTTTT", "3", "2"),
    ),
    Category(
        "privacy",
        "Sử dụng trái phép hình ảnh, thông tin đời tư",
        "Unlawful use of images and private life",
        Citation("Thông tư 07/2008/TT-BTTTT", "3", "4"),
    ),
    Category(
        "prohibited-goods",
        "Quảng cáo, mua bán hàng hoá, dịch vụ bị cấm",
        "Advertising or trading prohibited goods",
        Citation("Nghị định 97/2008/NĐ-CP", "6", "1", "d"),
    ),
)
PACK = "vn-circular-07-2008"
PACK_SHAS = ("a" * 64, "b" * 64)


def _at(rng: random.Random, first: datetime, last: datetime) -> datetime:
    span = int((last - first).total_seconds())
    return first + timedelta(seconds=rng.randrange(span))


def sample_input(seed: int = 7, year: int = 2024, decisions: int = 240, blogs: int = 120) -> ReportInput:
    """Build the records of a fictional provider around the first half of ``year`` (a little before and after)."""
    rng = random.Random(seed)  # noqa: S311  # fictional data, reproducible by seed
    lo = datetime(year - 1, 12, 1, tzinfo=ICT)
    hi = datetime(year, 7, 31, tzinfo=ICT)

    blog_records = []
    for i in range(blogs):
        created = _at(rng, datetime(year - 2, 1, 1, tzinfo=ICT), hi)
        history: list[StatusChange] = []
        roll = rng.random()
        if roll < 0.15:
            history.append(StatusChange(BlogStatus.SUSPENDED, _at(rng, created, created + timedelta(days=200))))
            if rng.random() < 0.5:
                history.append(StatusChange(BlogStatus.ACTIVE, history[-1].at + timedelta(days=30)))
        elif roll < 0.25:
            history.append(StatusChange(BlogStatus.CLOSED, _at(rng, created, created + timedelta(days=300))))
        status = history[-1].status if history else BlogStatus.ACTIVE
        blog_records.append(
            BlogRecord(
                id=f"b{i:04d}",
                platform_blog_id=f"pb-{i:04d}",
                created_at=created,
                status=status,
                history=tuple(history),
                test_platform=i % 40 == 39,
            )
        )
    # A blog whose "status now" disagrees with its history: the report uses the history and says so.
    blog_records.append(
        BlogRecord("b-odd", "pb-odd", datetime(year - 1, 5, 5, tzinfo=ICT), BlogStatus.SUSPENDED, history=())
    )
    # Created at 23:30 Vietnam time on 30 June (16:30 UTC): inside H1.
    blog_records.append(
        BlogRecord("b-edge-in", "pb-edge-in", datetime(year, 6, 30, 23, 30, tzinfo=ICT), BlogStatus.ACTIVE)
    )
    # Created at 00:30 Vietnam time on 1 July (still 30 June in UTC): outside H1.
    blog_records.append(
        BlogRecord("b-edge-out", "pb-edge-out", datetime(year, 6, 30, 17, 30, tzinfo=UTC), BlogStatus.ACTIVE)
    )

    authors = [f"u{i:03d}" for i in range(60)]
    decision_records: list[DecisionRecord] = []
    for i in range(decisions):
        decided = _at(rng, lo, hi)
        cats = tuple(rng.sample(CATEGORIES, k=1 if rng.random() < 0.85 else 2))
        action = rng.choices(list(Action), weights=(6, 2, 1, 1))[0]
        source = rng.choices(list(Source), weights=(5, 2, 3, 1))[0]
        automation = Automation.NOT if source is not Source.AUTOMATED else rng.choice(list(Automation)[:2])
        blog = rng.choice(blog_records[:blogs])
        d = DecisionRecord(
            id=f"d{i:04d}",
            platform_id=PLATFORM if i % 53 else "other-platform",
            kind=rng.choices(list(SubmissionKind), weights=(6, 3, 1))[0],
            categories=cats,
            action=action,
            source=source,
            automated_decision=automation,
            decided_at=decided,
            blog_id=blog.id,
            author_id=rng.choice(authors[:25]) if rng.random() < 0.5 else rng.choice(authors),
            shadow=i % 17 == 0,
            test_platform=i % 31 == 0,
            pack_versions={PACK: PACK_SHAS[0] if decided.month < 4 else PACK_SHAS[1]},
        )
        decision_records.append(d)

    # Revisions: every 9th decision is revised a few days later (some into the next period, some reversed).
    revised: list[DecisionRecord] = []
    for n, d in enumerate(decision_records[::9]):
        new_id = f"{d.id}-r1"
        later = d.decided_at + timedelta(days=rng.randrange(1, 20))
        revised.append(
            DecisionRecord(
                id=new_id,
                platform_id=d.platform_id,
                kind=d.kind,
                categories=(rng.choice(CATEGORIES),),
                action=Action.NO_ACTION if n % 4 == 0 else Action.REMOVE,
                source=d.source,
                automated_decision=Automation.NOT,
                decided_at=later,
                blog_id=d.blog_id,
                author_id=d.author_id,
                supersedes=d.id,
                reversed_on_appeal=n % 4 == 0,
                shadow=d.shadow,
                test_platform=d.test_platform,
                pack_versions=dict(d.pack_versions),
            )
        )
    by_id = {r.supersedes: r.id for r in revised}
    decision_records = [dataclasses.replace(d, superseded_by=by_id.get(d.id)) for d in decision_records]
    decision_records += revised

    appeals = []
    for i, d in enumerate(decision_records[5::11]):
        received = d.decided_at + timedelta(hours=rng.randrange(2, 200))
        outcome = rng.choice(list(AppealOutcome))
        decided_at = None if outcome is AppealOutcome.PENDING else received + timedelta(hours=rng.randrange(4, 400))
        appeals.append(AppealRecord(f"a{i:03d}", d.id, received, outcome, decided_at))

    strikes = [
        StrikeRecord(
            id=f"s{i:03d}",
            kind=rng.choices(list(StrikeKind), weights=(6, 3, 2, 1))[0],
            at=_at(rng, lo, hi),
            author_id=rng.choice(authors),
            test_platform=i % 25 == 24,
        )
        for i in range(60)
    ]

    requests = []
    bodies = ("Cục Phát thanh, Truyền hình và Thông tin điện tử", "Sở Thông tin và Truyền thông Hà Nội")
    for i in range(24):
        received = _at(rng, lo, hi)
        deadline = received + timedelta(hours=24)
        count = rng.randrange(1, 5)
        mode = i % 6
        if mode == 5:  # only a yes/no is kept for this one
            requests.append(
                AuthorityRequestRecord(
                    f"r{i:03d}",
                    bodies[i % 2],
                    f"{100 + i}/CV-PTTH&TTĐT",
                    received,
                    deadline,
                    count,
                    complied=True,
                    acted_at=received + timedelta(hours=rng.randrange(1, 30)),
                )
            )
            continue
        targets = []
        for t in range(count):
            hours = rng.choice((1, 2, 3, 5, 8, 12, 20, 23, 30, 50))
            acted = None if (mode == 4 and t == 0) else received + timedelta(hours=hours, minutes=rng.randrange(60))
            targets.append(AuthorityTarget(f"item-{i}-{t}", acted))
        requests.append(
            AuthorityRequestRecord(
                f"r{i:03d}", bodies[i % 2], f"{100 + i}/CV-PTTH&TTĐT", received, deadline, count, tuple(targets)
            )
        )

    extra = ExtraTable(
        title_vi="Số tài khoản đã xác thực số điện thoại (theo yêu cầu của Sở TT&TT)",
        columns=("Chỉ tiêu", "Số lượng"),
        rows=(("Tài khoản đã xác thực", 1520), ("Tài khoản chưa xác thực", 310)),
        note="Số liệu do nền tảng cung cấp, không tính từ quyết định kiểm duyệt.",
    )
    return ReportInput(
        platform_id=PLATFORM,
        profile=PROFILE,
        blogs=tuple(blog_records),
        decisions=tuple(decision_records),
        strikes=tuple(strikes),
        appeals=tuple(appeals),
        authority_requests=tuple(requests),
        extra_tables=(extra,),
    )
