"""Classify a synthetic mixed Vietnamese corpus with the default packs on one core; compare with a bare Hyperscan scan.

Half the items are comments under 300 characters, half are posts of 1-4 KB, made of clean sentences with some
violations mixed in. The bare scan runs the same lexicon terms (folded) over the same bytes, so the overhead of
normalisation, evidence mapping and rule evaluation shows as a ratio.
"""

from __future__ import annotations

import random
import statistics
import time
from pathlib import Path
from typing import Any

import hyperscan

from moderation.domain import Item, ItemKind, PostKind
from moderation.policy import Classifier, load_packs
from moderation.policy.matching import fold_text

POLICIES = Path(__file__).resolve().parents[1] / "policies"

CLEAN = [
    "Hôm nay trời Hà Nội se lạnh, cả nhà rủ nhau đi ăn phở ở phố cổ.",
    "Mình vừa đọc xong cuốn sách về lịch sử Đà Nẵng, rất đáng để đọc.",
    "Các bạn có biết quán cà phê nào yên tĩnh để làm việc ở quận 3 không?",
    "Chúc mừng sinh nhật em gái, mong em luôn vui vẻ và học thật giỏi.",
    "Đội tuyển bóng đá Việt Nam thi đấu rất quyết tâm trong trận tối qua.",
    "Công thức làm bánh flan đơn giản: trứng, sữa, đường và một chút vani.",
    "Cuối tuần này lớp mình tổ chức đi dã ngoại ở Ba Vì, ai đi thì đăng ký nhé.",
    "Giá xăng tuần này giảm nhẹ, người dân đi lại thuận tiện hơn.",
    "Mẹ mình trồng được mấy chậu hoa hồng rất đẹp ngoài ban công.",
    "Bài hát mới của ca sĩ này nghe khá hay, giai điệu nhẹ nhàng.",
]
VIOLATIONS = [
    "Bán ma túy đá giá rẻ, ship cod toàn quốc, lh 0901 234 567.",
    "Đả đảo cộng sản, lật đổ chế độ ngay!",
    "thằng chó này lừa đảo",
    "Nhận cá độ bóng đá, nạp tiền khuyến mãi 100%.",
    "xem phim sex clip nóng miễn phí tại đây",
    "Công an triệt phá đường dây bán ma túy, bắt giữ 5 đối tượng.",
]


def corpus(n: int, seed: int = 7) -> list[Item]:
    """Build ``n`` items: even indexes comments (< 300 chars), odd ones posts of 1-4 KB; ~10 % hold a violation."""
    rng = random.Random(seed)
    items = []
    for i in range(n):
        bad = rng.random() < 0.1
        if i % 2 == 0:
            parts = [rng.choice(CLEAN)]
            if bad:
                parts.append(rng.choice(VIOLATIONS))
            text = " ".join(parts)[:299]
            items.append(Item(kind=ItemKind.COMMENT, fields={"body": text}))
        else:
            target = rng.randint(1024, 4096)
            parts, size = [], 0
            while size < target:
                s = rng.choice(VIOLATIONS) if bad and rng.random() < 0.05 else rng.choice(CLEAN)
                parts.append(s)
                size += len(s.encode()) + 1
            items.append(
                Item(
                    kind=ItemKind.POST,
                    fields={"title": rng.choice(CLEAN)[:60], "body": " ".join(parts)},
                    post_kind=PostKind.SHARE if rng.random() < 0.3 else PostKind.ORIGINAL,
                )
            )
    return items


def _bare_db(clf: Classifier) -> hyperscan.Database:
    terms = sorted({fold_text(t)[0] for p in clf.packs for lx in p.lexicons.values() for t, _w, _f in lx.terms})
    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    exprs = [rb"\b" + t.encode().replace(b" ", rb"\s+") + rb"\b" for t in terms]
    db.compile(
        expressions=exprs,
        ids=list(range(len(exprs))),
        elements=len(exprs),
        flags=[hyperscan.HS_FLAG_SINGLEMATCH | hyperscan.HS_FLAG_CASELESS] * len(exprs),
    )
    return db


def run(quick: bool = False) -> dict[str, object]:
    """Measure items/s of ``Classifier.classify`` and of a bare Hyperscan scan; return the figures."""
    n, rounds = (400, 3) if quick else (2000, 5)
    items = corpus(n)
    clf = Classifier(load_packs(POLICIES))
    clf.classify(items[1])  # warm caches (normaliser tables, compiled lexicons)
    db = _bare_db(clf)
    blobs = [fold_text(v)[0].encode() for it in items for v in it.fields.values()]
    total_bytes = sum(len(v.encode()) for it in items for v in it.fields.values())

    def on_match(*_: Any) -> None:
        return None

    full, bare = [], []
    verdicts: dict[str, int] = {}
    for r in range(rounds):
        t0 = time.perf_counter()
        for it in items:
            ev = clf.classify(it)
            if r == 0:
                verdicts[ev.verdict.value] = verdicts.get(ev.verdict.value, 0) + 1
        full.append(n / (time.perf_counter() - t0))
        t0 = time.perf_counter()
        for b in blobs:
            db.scan(b, match_event_handler=on_match)
        bare.append(n / (time.perf_counter() - t0))
    result: dict[str, object] = {
        "items": n,
        "rounds": rounds,
        "bytes": total_bytes,
        "classify_items_per_s": round(statistics.median(full), 1),
        "classify_items_per_s_stdev": round(statistics.pstdev(full), 1),
        "bare_hyperscan_items_per_s": round(statistics.median(bare), 1),
        "bare_hyperscan_items_per_s_stdev": round(statistics.pstdev(bare), 1),
        "overhead_ratio": round(statistics.median(bare) / statistics.median(full), 1),
        "target_items_per_s": 2000,
        "verdicts": verdicts,
        "matcher": type(clf._compiled.matcher).__name__,
    }
    print(
        f"classify: {result['classify_items_per_s']} ± {result['classify_items_per_s_stdev']} items/s "
        f"({n} items, {total_bytes / n:.0f} B avg, matcher {result['matcher']})\n"
        f"bare hyperscan: {result['bare_hyperscan_items_per_s']} ± {result['bare_hyperscan_items_per_s_stdev']} "
        f"items/s; overhead x{result['overhead_ratio']}; verdicts {verdicts}"
    )
    return result


if __name__ == "__main__":
    run()
