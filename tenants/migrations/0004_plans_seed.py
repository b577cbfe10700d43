"""The plans on the pricing page. Prices per rooftop, in cents; Stripe plans are made by billing_plans_sync."""

from django.db import migrations

PLANS = [
    {
        "code": "starter", "name": "Starter", "position": 1, "monthly_price": 14900, "yearly_price": 149000,
        "max_rooftops": 2, "seats_per_rooftop": 8, "trial_days": 14,
        "tagline": {"en": "For a single dealership or two.", "ru": "Для одного-двух дилерских центров.",
                    "zh-hans": "适合一到两家门店。"},
        "features": {
            "en": ["Customer database and DMS import", "Service reminders", "Owner portal"],
            "ru": ["База клиентов и импорт из DMS", "Сервисные напоминания", "Портал владельцев"],
            "zh-hans": ["客户数据库与 DMS 导入", "保养提醒", "车主门户"],
        },
    },
    {
        "code": "group", "name": "Group", "position": 2, "monthly_price": 24900, "yearly_price": 249000,
        "max_rooftops": 10, "seats_per_rooftop": 15, "trial_days": 14,
        "tagline": {"en": "For dealer groups with several brands.", "ru": "Для дилерских групп с несколькими брендами.",
                    "zh-hans": "适合多品牌经销商集团。"},
        "features": {
            "en": ["Everything in Starter", "Campaigns, events and surveys", "Owners' club and referrals"],
            "ru": ["Всё из тарифа Starter", "Кампании, мероприятия и опросы", "Клуб владельцев и рекомендации"],
            "zh-hans": ["包含 Starter 全部功能", "营销活动、车主活动与调查", "车主俱乐部与推荐"],
        },
    },
    {
        "code": "network", "name": "Network", "position": 3, "monthly_price": 39900, "yearly_price": 399000,
        "max_rooftops": None, "seats_per_rooftop": 25, "trial_days": 30,
        "tagline": {"en": "For large networks and importers.", "ru": "Для крупных сетей и импортёров.",
                    "zh-hans": "适合大型网络与进口商。"},
        "features": {
            "en": ["Everything in Group", "Integration API and webhooks", "Benchmarks against peers"],
            "ru": ["Всё из тарифа Group", "API и вебхуки для интеграций", "Сравнение с другими дилерами"],
            "zh-hans": ["包含 Group 全部功能", "集成 API 与 Webhook", "同行对标"],
        },
    },
]


def plans_create(apps, schema_editor):
    Plan = apps.get_model("tenants", "Plan")
    for plan in PLANS:
        Plan.objects.update_or_create(code=plan["code"], defaults={k: v for k, v in plan.items() if k != "code"})


class Migration(migrations.Migration):
    dependencies = [("tenants", "0003_billing")]
    operations = [migrations.RunPython(plans_create, migrations.RunPython.noop)]
