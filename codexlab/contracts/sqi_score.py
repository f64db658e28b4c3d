"""sqi_score: the metrics-bus event of one scored beam or mutation."""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import Field, model_validator

from codexlab.contracts._base import ContractModel, register_kind
from codexlab.contracts._types import BeamId, EpochSeconds, Probability

__all__ = ["RATING_FLOORS", "Rating", "SqiScore", "rating_for"]

Rating = Literal["exceptional", "strong", "moderate", "weak", "poor"]
RATINGS: tuple[str, ...] = get_args(Rating)
RATING_FLOORS: tuple[tuple[float, Rating], ...] = (
    (0.85, "exceptional"),
    (0.65, "strong"),
    (0.45, "moderate"),
    (0.25, "weak"),
    (0.0, "poor"),
)


def rating_for(qscore: float) -> Rating:
    """The rating of a qscore: >=.85 exceptional, >=.65 strong, >=.45 moderate, >=.25 weak, else poor."""
    for floor, name in RATING_FLOORS:
        if qscore >= floor:
            return name
    return "poor"


@register_kind
class SqiScore(ContractModel):
    """A score event; the plan's fields plus (ext) the beam, its qscore, drift and rating."""

    KIND = "sqi_score"
    VERSION = 1

    type: Literal["sqi_score"] = "sqi_score"
    timestamp: EpochSeconds
    mutation_id: str | None = Field(default=None, description="set when the score belongs to a mutation")
    container_id: str = Field(min_length=1)
    goal_match_score: Probability
    rewrite_success_prob: Probability
    entropy_delta: float = Field(description="H(output) - mean H(inputs), bits")
    beam_id: BeamId | None = Field(default=None, description="ext: the scored beam")
    qscore: Probability | None = Field(default=None, description="ext")
    drift: float | None = Field(default=None, ge=0, description="ext: relative L2 drift")
    rating: Rating | None = Field(default=None, description="ext: band of qscore")

    @model_validator(mode="after")
    def _rating_matches_qscore(self) -> SqiScore:
        """When both are given, the rating is the band the qscore falls in."""
        if self.rating is not None and self.qscore is not None:
            expected = rating_for(self.qscore)
            if self.rating != expected:
                raise ValueError(
                    f"`rating` `{self.rating}` does not match `qscore` {self.qscore!r}, whose band is "
                    f"`{expected}`; use `rating_for(qscore)`"
                )
        return self
