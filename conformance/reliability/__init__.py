"""Traffic for the reliability scenarios: hostile requests (`hostile`) and load with key churn
(`load`). Apart from the plugin, so that a vendor can run them against a gateway directly."""
