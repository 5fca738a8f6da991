"""Apache Airflow provider for Alibaba Cloud Bailian (Model Studio) Wan text-to-video."""

__version__ = "0.1.0"
