"""The Floor Boss: a kopf operator reconciling TraderAgent, Auditor and Monitor resources into Pods,
driven by the pure decision core in ``tradingfloor.decisions``."""
