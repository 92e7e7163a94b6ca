"""Sample failed attempts for the first look at logInsights, shaped like seed 000's sample."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pipeline.models import ErrorCode, FailedAttempt, Platform

STORE_ERROR = "Service [createShopifyOrder] target threw an unexpected exception (null)"


def sample_failed_attempts(now: datetime | None = None) -> list[FailedAttempt]:
    """A few orders that failed to import; #1002 failed twice, an hour apart."""
    moment = now or datetime.now(UTC)
    created = moment - timedelta(hours=3)
    shop = "hc-demo"
    status_url = "https://hc-demo.myshopify.com/83950764316/orders/{token}/authenticate?key={key}"
    return [
        FailedAttempt(
            platform=Platform.SHOPIFY,
            shop=shop,
            order_id="5512345678901",
            order_name="#1001",
            order_created_at=created,
            attempted_at=moment - timedelta(minutes=5),
            error_message=(
                "Order #1001 (5512345678901) has no shipping address; add the address in "
                "Shopify, then run `loginsights reimport --shop hc-demo --order-id 5512345678901`"
            ),
            error_code=ErrorCode.MISSING_ADDRESS,
            site=status_url.format(token="e218e7d5c7705560408de87178d8fa6b", key="s3cr3tk3y1"),
        ),
        FailedAttempt(
            platform=Platform.SHOPIFY,
            shop=shop,
            order_id="5512345678902",
            order_name="#1002",
            order_created_at=created + timedelta(minutes=7),
            attempted_at=moment - timedelta(hours=1),
            error_message=STORE_ERROR,
            error_code=ErrorCode.STORE_ERROR,
            site=status_url.format(token="0b7c2d9e1f3a4b5c6d7e8f9a0b1c2d3e", key="s3cr3tk3y2"),
        ),
        FailedAttempt(
            platform=Platform.SHOPIFY,
            shop=shop,
            order_id="5512345678902",
            order_name="#1002",
            order_created_at=created + timedelta(minutes=7),
            attempted_at=moment,
            error_message=STORE_ERROR,
            error_code=ErrorCode.STORE_ERROR,
            site=status_url.format(token="0b7c2d9e1f3a4b5c6d7e8f9a0b1c2d3e", key="s3cr3tk3y2"),
        ),
        FailedAttempt(
            platform=Platform.SHOPLAZZA,
            shop="lazza-demo",
            order_id="1583937461738472910",
            order_name="1045",
            order_created_at=created,
            attempted_at=moment,
            error_message=(
                "Order 1045 (1583937461738472910) has no phone number; add one in Shoplazza, "
                "then re-import it"
            ),
            error_code=ErrorCode.MISSING_PHONE,
            site="https://lazza-demo.myshoplaza.com/admin/orders/1583937461738472910",
        ),
        FailedAttempt(
            platform=Platform.SFCC,
            shop="sfcc-demo",
            order_id="00000410",
            order_name="00000410",
            order_created_at=created,
            attempted_at=moment,
            error_message=(
                "Order 00000410 has a malformed email 'max@@example'; correct it in Business "
                "Manager, then re-import it"
            ),
            error_code=ErrorCode.BAD_EMAIL,
            site="https://fd4gt8.api.commercecloud.salesforce.com/checkout/orders/v1/"
            "organizations/f_ecom_zzxy_prd/orders/00000410?siteId=RefArch",
        ),
    ]
