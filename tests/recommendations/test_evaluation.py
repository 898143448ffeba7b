"""On a real basket sample (Instacart, 150k order lines, read from the installed
package), the personal ranking beats the buyer's own ten most bought products, which
beats a model that may only suggest what the buyer never bought."""

from mercato.recommendations import samples, training


def test_personal_ranking_beats_own_top_10_on_the_instacart_sample():
    histories = samples.instacart_histories()
    assert sum(len(h) for h in histories.values()) > 15_000  # orders
    scores = training.evaluate(histories)
    own, personal = scores["own_top_10"], scores["personal"]
    new_only, popular = scores["collaborative_new_only"], scores["popular"]
    assert own["buyers"] == personal["buyers"] > 500
    assert 0.25 < own["precision_at_10"] < 0.35  # repeat purchases dominate
    assert personal["precision_at_10"] > own["precision_at_10"]
    assert personal["ndcg_at_10"] > own["ndcg_at_10"]
    assert new_only["precision_at_10"] < 0.05 < popular["precision_at_10"] < own["precision_at_10"]
