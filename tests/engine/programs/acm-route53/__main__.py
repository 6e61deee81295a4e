"""A hosted zone, a certificate for the apex and a wildcard, validated with one DNS record
per validation option (the pattern of the ACM documentation), and a record in an existing
zone found by name."""

import pulumi
import pulumi_aws as aws

zone = aws.route53.Zone("site", name="shop.example.org")
cert = aws.acm.Certificate(
    "site",
    domain_name="shop.example.org",
    subject_alternative_names=["*.shop.example.org", "api.shop.example.org"],
    validation_method="DNS",
)


def validation_records(options: list) -> list:
    records = []
    for option in {o.domain_name.removeprefix("*."): o for o in options}.values():
        records.append(
            aws.route53.Record(
                f"validation-{option.domain_name.replace('.', '-')}",
                zone_id=zone.zone_id,
                name=option.resource_record_name,
                type=option.resource_record_type,
                records=[option.resource_record_value],
                ttl=60,
                allow_overwrite=True,
            )
        )
    return records


records = cert.domain_validation_options.apply(validation_records)
validation = aws.acm.CertificateValidation(
    "site",
    certificate_arn=cert.arn,
    validation_record_fqdns=records.apply(lambda rs: [r.fqdn for r in rs]),
)
parent = aws.route53.get_zone(name="example.org")
delegation = aws.route53.Record("delegation", zone_id=parent.zone_id, name="shop.example.org", type="NS", ttl=300, records=zone.name_servers)

pulumi.export("certificateArn", validation.certificate_arn)
pulumi.export("certificateStatus", cert.status)
pulumi.export("validationNames", cert.domain_validation_options.apply(lambda os: sorted({o.resource_record_name for o in os})))
pulumi.export("zoneId", zone.zone_id)
pulumi.export("nameServers", zone.name_servers)
pulumi.export("parentZoneId", parent.zone_id)
pulumi.export("delegationFqdn", delegation.fqdn)
