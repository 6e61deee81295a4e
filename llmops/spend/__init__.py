"""``llmops spend``: what a stack costs this month, from AWS's bill rather than the plan.

Month-to-date spend and the forecast for the month come from Cost Explorer, filtered on the
stack's ``Stack`` cost-allocation tag, per region and service; they are set against the
stack's budget (``llmops:budget.monthlyUsd``) and the cost model's estimate of its plan, and
a report says plainly when spend is, or is forecast to be, over either.

- :mod:`llmops.spend.models`: the period, the report and its verdicts (pure);
- :mod:`llmops.spend.costexplorer`: the boto3 layer (throttling retried with
  :class:`~llmops.awsclient.RetryPolicy`), imported on demand because boto3 is slow to import;
- :mod:`llmops.spend.render`: the rich tables.
"""

from llmops.spend.errors import SpendError
from llmops.spend.models import Period, SpendReport, SpendStatus, month_period

__all__ = ["Period", "SpendError", "SpendReport", "SpendStatus", "month_period"]
