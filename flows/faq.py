"""Offline FAQ retrieval: rank a tenant's FAQ entries against a customer's message.

This is what the product answers with when no LLM is configured (and what the `llm` node falls back to when
the model fails), and it picks the few FAQ entries worth putting into an LLM prompt.

Why a hand-rolled, rapidfuzz-backed soft token overlap and not plain ``fuzz.token_set_ratio`` or BM25:

* Customers paraphrase. "сколько стоит стрижка" and "Цена стрижки?" share one word form at best, so raw
  string similarity fails. We normalise (lowercase, ё→е, punctuation stripped), drop stop words, strip
  common Russian/English endings (a light stemmer: "стрижки"/"стрижка" → "стрижк", "hours" → "hour") and
  fold a small list of business synonyms into concept tokens ("цена"/"стоит"/"price"/"cost" → ``#price``).
* Typos and leftover inflections are handled per token by ``rapidfuzz.fuzz.ratio`` (plus prefix matching),
  so "стрижечка" or "opning" still hit.
* BM25 needs a corpus to learn term weights; a small business has 5–50 entries, where IDF is noise. The
  score here is explainable to a tenant: how much of the question is covered by the entry and vice versa.

Score (0..100) = 100 × (0.6 × query coverage + 0.4 × entry coverage), where coverage is the share of one
side's tokens that find a similar token (≥ ``_TOKEN_CUTOFF``) on the other side. The answer text counts too,
but at most ``_ANSWER_WEIGHT`` × its coverage, so an answer that merely mentions a word cannot beat a
question that matches. Normalisation is cached per string, so ranking ~200 entries takes about a millisecond.
"""

from __future__ import annotations

import re
from functools import lru_cache

from rapidfuzz import fuzz

DEFAULT_THRESHOLD: float = 65.0
"""Minimum score for ``best_answer`` to answer on its own. Tuned on paraphrase/non-match pairs in
``tests/llm/test_faq.py``: true paraphrases score 80–100, same-topic-different-item questions ~50."""

_TOKEN_CUTOFF = 75.0  # per-token similarity below this counts as no match (ratio of two different words)
_ANSWER_WEIGHT = 0.6  # the answer text can contribute at most 60 points: below the default threshold

_PUNCT = re.compile(r"[^\w\s]+", re.UNICODE)  # also drops "#": concept tokens are ours alone
_SPACES = re.compile(r"\s+")

def _words(text: str) -> list[str]:
    return text.split()


_STOP_WORDS = frozenset(
    _words(
        """
    a an the and or but if of to in on at by for with from about as into is are was were be been being am
    do does did have has had i me my we our you your yours he she it its they them their this that these
    those there here what when which who whom whose how can could would should will shall may might
    must please hi hello hey thanks thank tell know want like just also any some much many
    и в во не что он на я с со как а то все она так его но да ты к у же вы за бы по только ее мне было вот
    от меня еще нет о из ему теперь когда даже ну вдруг ли если уже или ни быть был него до вас нибудь
    опять уж вам ведь там потом себя ничего ей может они тут где есть надо ней для мы тебя их чем была сам
    чтоб без будто чего раз тоже себе под будет ж тогда кто этот того потому этого какой совсем ним здесь
    этом один почти мой тем чтобы нее сейчас были куда зачем всех никогда можно при наконец два об другой
    хоть после над больше тот через эти нас про всего них какая много разве три эту моя впрочем хорошо
    свою этой перед иногда лучше чуть том нельзя такой им более всегда конечно всю между ваш ваша ваше
    ваши вашей вашего скажите подскажите пожалуйста здравствуйте привет добрый день спасибо хочу хотел
    хотела сколько какие какое каков какова
    """
    )
)

# Business synonyms folded into one concept token. Matched as prefixes of the *unstemmed* lowercase word,
# so "стоит" is price but "стоянка" (parking) is not. Kept short on purpose: a wrong synonym makes
# unrelated questions match, which is worse than a missed paraphrase (that falls back to a manager).
_CONCEPTS: dict[str, tuple[str, ...]] = {
    "#price": ("цен", "стоим", "стоит", "стоят", "стоить", "почем", "прайс", "расценк", "тариф",
               "price", "pricing", "cost", "fees", "charge"),
    "#hours": ("часы", "часов", "часа", "скольки", "график", "расписан", "режим", "работ", "открыт",
               "открыва", "закрыва", "выходн", "hour", "open", "opening", "close", "closing", "schedule"),
    "#address": ("адрес", "находит", "находи", "располож", "добрат", "проехать", "address", "where",
                 "located", "location", "directions"),
    "#booking": ("запис", "бронир", "забронир", "book", "appointment", "reserv"),
    "#delivery": ("доставк", "доставл", "deliver", "shipping", "ship"),
    "#payment": ("оплат", "платит", "pay", "payment"),
    "#discount": ("скидк", "акци", "промокод", "discount", "promo", "sale", "coupon"),
    "#parking": ("парковк", "стоянк", "parking", "park"),
    "#contact": ("телефон", "позвонит", "связат", "phone", "call", "contact"),
}
# Two-word phrases that carry a concept no single word does ("much" alone means nothing).
_PHRASES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\bhow much\b"), " #price "),
    (re.compile(r"\bwhat time\b"), " #hours "),
    (re.compile(r"\bво сколько\b"), " #hours "),
)
_CONCEPT_PREFIXES: tuple[tuple[str, str], ...] = tuple(
    sorted(((p, c) for c, ps in _CONCEPTS.items() for p in ps), key=lambda pc: -len(pc[0]))
)

_RU_ENDINGS = tuple(
    sorted(
        _words(
            """
        иями ями ами ого его ому ему ыми ими ешь ишь ете ите ется ится ются ятся ться ала ила ела ыла яла
        ая яя ое ее ые ие ый ий ой ую юю ах ях ов ев ей ом ем ам ям ет ит ут ют ат ят ть ал ил ел ла ли ло
        ся сь а я о е у ю ы и ь й
        """
        ),
        key=len,
        reverse=True,
    )
)
_EN_ENDINGS = ("ing", "ed", "es", "s", "ly")


def _stem(word: str) -> str:
    """Strip one common ending so inflected forms meet; keeps at least 3 (ru) / 3 (en) letters."""
    if word.startswith("#") or word.isdigit():
        return word
    cyrillic = any("а" <= ch <= "я" for ch in word)
    for ending in _RU_ENDINGS if cyrillic else _EN_ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            return word[: -len(ending)]
    return word


def _concept(word: str) -> str | None:
    for prefix, concept in _CONCEPT_PREFIXES:
        if word.startswith(prefix):
            return concept
    return None


@lru_cache(maxsize=8192)
def normalize(text: str) -> tuple[str, ...]:
    """Text → tuple of normalised tokens (concepts, stems); stop words dropped, order kept, no duplicates.

    Cached because FAQ entries are re-ranked on every message with the same texts.
    """
    text = (text or "").lower().replace("ё", "е")
    text = _SPACES.sub(" ", _PUNCT.sub(" ", text)).strip()
    for pattern, concept in _PHRASES:
        text = pattern.sub(concept, text)
    tokens: list[str] = []
    for word in text.split(" "):
        if not word or word.replace("_", "") == "":
            continue
        concept = _concept(word)
        if concept is None and word in _STOP_WORDS:
            continue
        token = concept or _stem(word)
        if len(token) < 2 or token in tokens:
            continue
        tokens.append(token)
    return tuple(tokens)


def _token_similarity(a: str, b: str) -> float:
    if a == b:
        return 100.0
    if a.startswith("#") or b.startswith("#"):
        return 0.0  # concepts only match themselves
    if min(len(a), len(b)) >= 4 and (a.startswith(b) or b.startswith(a)):
        return 95.0  # prefix matching: "стриж" ~ "стрижк", "appoint" ~ "appointment"
    score = fuzz.ratio(a, b, score_cutoff=_TOKEN_CUTOFF)
    return score if score >= _TOKEN_CUTOFF else 0.0


def _similarities(query_tokens: tuple[str, ...], vocabulary: set[str]) -> dict[tuple[str, str], float]:
    """Non-zero similarities between every query token and every entry token, computed once per call.

    Entries share most of their words, so this is |query| × |vocabulary| comparisons instead of
    |query| × |tokens| per entry.
    """
    sims: dict[tuple[str, str], float] = {}
    for q in query_tokens:
        for v in vocabulary:
            value = _token_similarity(q, v)
            if value:
                sims[(q, v)] = value
    return sims


def _question_answer_score(
    q_tokens: tuple[str, ...], entry: dict, sims: dict[tuple[str, str], float]
) -> float:
    e_tokens = normalize(str(entry.get("q") or ""))
    a_tokens = normalize(str(entry.get("a") or ""))

    def query_coverage(other: tuple[str, ...]) -> float:
        if not other:
            return 0.0
        return sum(max((sims.get((q, o), 0.0) for o in other), default=0.0) for q in q_tokens) / (
            100.0 * len(q_tokens)
        )

    entry_coverage = 0.0
    if e_tokens:
        entry_coverage = sum(
            max((sims.get((q, e), 0.0) for q in q_tokens), default=0.0) for e in e_tokens
        ) / (100.0 * len(e_tokens))
    question = 100.0 * (0.6 * query_coverage(e_tokens) + 0.4 * entry_coverage)
    answer = 100.0 * _ANSWER_WEIGHT * query_coverage(a_tokens)
    return round(max(question, answer), 2)


def score(query: str, entry: dict) -> float:
    """Relevance (0..100) of one FAQ entry ``{"q", "a"}`` to a customer's message."""
    q_tokens = normalize(query)
    if not q_tokens:
        return 0.0
    vocabulary = set(normalize(str(entry.get("q") or ""))) | set(normalize(str(entry.get("a") or "")))
    return _question_answer_score(q_tokens, entry, _similarities(q_tokens, vocabulary))


def rank(query: str, entries: list[dict], *, limit: int = 3) -> list[tuple[dict, float]]:
    """The ``limit`` most relevant entries with their score (0..100), best first; zero scores left out.

    Ties keep the tenant's own order (earlier entries first), so ranking is deterministic.
    """
    q_tokens = normalize(query)
    if limit <= 0 or not entries or not q_tokens:
        return []
    entries = [entry for entry in entries if isinstance(entry, dict)]
    vocabulary: set[str] = set()
    for entry in entries:
        vocabulary.update(normalize(str(entry.get("q") or "")))
        vocabulary.update(normalize(str(entry.get("a") or "")))
    sims = _similarities(q_tokens, vocabulary)
    scored = [(entry, _question_answer_score(q_tokens, entry, sims)) for entry in entries]
    scored = [pair for pair in scored if pair[1] > 0]
    scored.sort(key=lambda pair: -pair[1])  # stable: ties keep input order
    return scored[:limit]


def best_answer(query: str, entries: list[dict], threshold: float | None = None) -> tuple[dict, float] | None:
    """The best entry if it scores at least ``threshold`` (default ``DEFAULT_THRESHOLD``), else None.

    None means "don't guess": the node takes its ``no_match`` path or hands off to a manager.
    """
    limit = DEFAULT_THRESHOLD if threshold is None else threshold
    top = rank(query, entries, limit=1)
    if top and top[0][1] >= limit:
        return top[0]
    return None
