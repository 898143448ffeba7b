"""Recommendations API: lists as a product page or a buyer would get them, the trained
versions with their evaluation, training on demand, and the merchant's rules."""

from typing import Annotated

from fastapi import APIRouter, Query, Response

from mercato.recommendations import experiments, product_sets, rules, serving, training
from mercato.recommendations.auth import RecommendationsRead, RecommendationsWrite
from mercato.recommendations.schemas import (
    ExperimentCreate,
    ListName,
    ListPublic,
    ProductSetCreate,
    ProductSetPublic,
    RecommendedPublic,
    RuleCreate,
    RulePublic,
    TrainingQueued,
    VersionPublic,
)
from mercato.web.sessions import ReadSession, WriteSession

router = APIRouter(prefix="/recommendations", tags=["recommendations"])
Limit = Annotated[int, Query(ge=1, le=50)]


def _public(name: str, subject: str, shown: list[serving.Shown]) -> ListPublic:
    return ListPublic(
        list=name,
        subject=subject,
        products=[
            RecommendedPublic(
                product_id=s.product_id,
                handle=s.handle,
                title=s.title,
                variant_id=s.variant.id,
                price=s.variant.price,
                currency=s.variant.currency,
                image=s.image,
                score=s.score,
                reason=s.reason,
            )
            for s in shown
        ],
    )


@router.get("/products/{product_id}", response_model=ListPublic)
def for_product(
    product_id: str,
    session: ReadSession,
    _: RecommendationsRead,
    list: ListName | None = None,
    limit: Limit = 4,
):
    """What the product page shows (often bought with, else similar), or one list."""
    name, shown = serving.for_product(session, product_id, limit, list)
    return _public(name, product_id, shown)


@router.get("/customers/{customer_id}", response_model=ListPublic)
def for_customer(
    customer_id: str,
    session: ReadSession,
    _: RecommendationsRead,
    channel: str = "",
    limit: Limit = 10,
):
    """The buyer's own list if they agreed to personalisation, else what sells."""
    name, shown = serving.for_customer(session, customer_id, channel, limit)
    return _public(name, customer_id, shown)


@router.get("/versions", response_model=list[VersionPublic])
def list_versions(session: ReadSession, _: RecommendationsRead):
    """Trained versions, newest first, each with its models' scores on held-out orders."""
    return training.versions(session)


@router.post("/versions", response_model=TrainingQueued, status_code=202)
def train(session: WriteSession, _: RecommendationsWrite):
    """Train a new version now (the worker runs it; it is also trained every day)."""
    return TrainingQueued(job_id=training.queue(session))


@router.get("/rules", response_model=list[RulePublic])
def list_rules(session: ReadSession, _: RecommendationsRead):
    return rules.list_rules(session)


@router.post("/rules", response_model=RulePublic, status_code=201)
def add_rule(data: RuleCreate, session: WriteSession, _: RecommendationsWrite):
    """Exclude, boost or pin a product in one list or all."""
    return rules.add(session, data)


@router.delete("/rules/{rule_id}", status_code=204)
def remove_rule(rule_id: str, session: WriteSession, _: RecommendationsWrite):
    rules.remove(session, rule_id)
    return Response(status_code=204)


@router.get("/product-sets", response_model=list[ProductSetPublic])
def list_product_sets(session: ReadSession, _: RecommendationsRead):
    """Segments' product sets on Meta catalogs: what each holds and whether Meta has it."""
    return product_sets.list_sets(session)


@router.post("/product-sets", response_model=ProductSetPublic, status_code=201)
def add_product_set(data: ProductSetCreate, session: WriteSession, _: RecommendationsWrite):
    """A segment's product set on a Meta catalog channel, sent by the worker next and
    after each training."""
    return product_sets.create(session, data)


@router.post("/product-sets/push", response_model=TrainingQueued, status_code=202)
def push_product_sets(session: WriteSession, _: RecommendationsWrite):
    """Bring every product set up to date now (the worker's next job)."""
    return TrainingQueued(job_id=product_sets.queue_push(session))


@router.delete("/product-sets/{product_set_id}", status_code=204)
def remove_product_set(product_set_id: str, session: WriteSession, _: RecommendationsWrite):
    """Removed here at once, and from Meta by the worker."""
    product_sets.remove(session, product_set_id)
    return Response(status_code=204)


@router.get("/experiments")
def list_experiments(session: ReadSession, _: RecommendationsRead) -> dict:
    """A/B experiments on the product page's recommendation row, newest first, each with
    its arms' visitors, clicks, orders, revenue and conversion, and the z-test."""
    found = experiments.list_experiments(session)
    return {"data": [experiments.as_json(experiments.results(session, e)) for e in found]}


@router.post("/experiments", status_code=201)
def start_experiment(
    data: ExperimentCreate, session: WriteSession, _: RecommendationsWrite
) -> dict:
    """Starts an experiment (409 while another runs): ``arm_a`` and ``arm_b`` are what
    the row shows (together, similar, popular, none); ``share_b`` percent see B."""
    experiment = experiments.start(session, data)
    return experiments.as_json(experiments.results(session, experiment))


@router.get("/experiments/{experiment_id}")
def get_experiment(experiment_id: str, session: ReadSession, _: RecommendationsRead) -> dict:
    experiment = experiments.get(session, experiment_id)
    return experiments.as_json(experiments.results(session, experiment))


@router.post("/experiments/{experiment_id}/stop")
def stop_experiment(experiment_id: str, session: WriteSession, _: RecommendationsWrite) -> dict:
    """Stops it: every visitor sees the usual row again; the results stay."""
    experiment = experiments.stop(session, experiment_id)
    return experiments.as_json(experiments.results(session, experiment))
