//! Validating an overrides file against the catalog and applying it.
//!
//! Order: accelerator specs first (so added offers may use them), then added offers and owned
//! pools, then discounts (on bundled list prices only), then custom prices (which win over
//! discounts). Every value is checked before use and an error names its line and key.

use super::format::{self, AddedOffer, CustomPrice, Discount, OverridesFile, OwnedPool, line_of};
use crate::catalog::Catalog;
use crate::error::{CatalogError, NameKind};
use crate::names;
use crate::offer::{OWNED_PROVIDER, Offer, Pricing};
use crate::source::{chips_named_by, family};
use spillway_model::{AcceleratorSpec, ChipsNamedBy, UsdPerHour};
use std::path::Path;
use toml::Spanned;

/// Where errors point: the file's text (for line numbers) and path (for messages).
struct Ctx<'a> {
    text: &'a str,
    path: &'a Path,
}

impl Ctx<'_> {
    fn err(
        &self,
        span: &std::ops::Range<usize>,
        table: &str,
        index: usize,
        key: &str,
        message: impl Into<String>,
    ) -> CatalogError {
        CatalogError::OverridesValue {
            path: self.path.to_path_buf(),
            line: line_of(self.text, span),
            table: format!("[[{table}]] #{}", index + 1),
            key: key.to_string(),
            message: message.into(),
        }
    }
}

/// Applies the overrides in `text` to `catalog`.
pub(crate) fn apply(catalog: &mut Catalog, text: &str, path: &Path) -> Result<(), CatalogError> {
    let file: OverridesFile = format::parse(text, path)?;
    let ctx = Ctx { text, path };
    for (index, entry) in file.accelerator.iter().enumerate() {
        add_spec(catalog, &ctx, index, entry)?;
    }
    for (index, added) in file.offer.iter().enumerate() {
        let offer = added_offer(catalog, &ctx, index, added)?;
        catalog.offers.push(offer);
    }
    for (index, pool) in file.owned.iter().enumerate() {
        let offer = owned_offer(catalog, &ctx, index, pool)?;
        catalog.offers.push(offer);
    }
    apply_discounts(catalog, &ctx, &file.discount)?;
    for (index, price) in file.price.iter().enumerate() {
        apply_custom_price(catalog, &ctx, index, price)?;
    }
    Ok(())
}

/// A finite, non-negative number.
/// An on-demand and a spot price, at least one of which must be given.
fn price_pair(
    ctx: &Ctx<'_>,
    on_demand: &Option<Spanned<f64>>,
    spot: &Option<Spanned<f64>>,
    span: &std::ops::Range<usize>,
    table: &str,
    index: usize,
) -> Result<(Option<f64>, Option<f64>), CatalogError> {
    let on_demand = on_demand
        .as_ref()
        .map(|v| price(ctx, v, table, index, "price_per_hour"))
        .transpose()?;
    let spot = spot
        .as_ref()
        .map(|v| price(ctx, v, table, index, "spot_price_per_hour"))
        .transpose()?;
    if on_demand.is_none() && spot.is_none() {
        return Err(ctx.err(
            span,
            table,
            index,
            "price_per_hour",
            "missing: give price_per_hour, spot_price_per_hour or both",
        ));
    }
    Ok((on_demand, spot))
}

fn price(
    ctx: &Ctx<'_>,
    value: &Spanned<f64>,
    table: &str,
    index: usize,
    key: &str,
) -> Result<f64, CatalogError> {
    let v = *value.get_ref();
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(ctx.err(
            &value.span(),
            table,
            index,
            key,
            format!("{v} is not a price: use a number >= 0 (USD)"),
        ))
    }
}

/// A whole count of chips, at least 1.
fn chips(
    ctx: &Ctx<'_>,
    value: &Spanned<i64>,
    table: &str,
    index: usize,
) -> Result<u32, CatalogError> {
    u32::try_from(*value.get_ref())
        .ok()
        .filter(|c| *c >= 1)
        .ok_or_else(|| {
            ctx.err(
                &value.span(),
                table,
                index,
                "chips",
                format!(
                    "{} is not a chip count: use a whole number >= 1",
                    value.get_ref()
                ),
            )
        })
}

/// A non-empty name.
fn non_empty<'v>(
    ctx: &Ctx<'_>,
    value: &'v Spanned<String>,
    table: &str,
    index: usize,
    key: &str,
) -> Result<&'v str, CatalogError> {
    let v = value.get_ref().trim();
    if v.is_empty() {
        Err(ctx.err(&value.span(), table, index, key, "is empty: give a name"))
    } else {
        Ok(v)
    }
}

/// Resolves a name, turning an unknown-name error into one that names the line and key.
fn resolved<T>(
    ctx: &Ctx<'_>,
    value: &Spanned<String>,
    table: &str,
    index: usize,
    key: &str,
    result: Result<T, CatalogError>,
) -> Result<T, CatalogError> {
    result.map_err(|err| ctx.err(&value.span(), table, index, key, err.to_string()))
}

fn add_spec(
    catalog: &mut Catalog,
    ctx: &Ctx<'_>,
    index: usize,
    entry: &super::format::AcceleratorEntry,
) -> Result<(), CatalogError> {
    const T: &str = "accelerator";
    let name = non_empty(ctx, &entry.name, T, index, "name")?.to_string();
    let figure = |value: &Spanned<f64>, key: &str| -> Result<f64, CatalogError> {
        let v = *value.get_ref();
        if v.is_finite() && v > 0.0 {
            Ok(v)
        } else {
            Err(ctx.err(
                &value.span(),
                T,
                index,
                key,
                format!("{v} must be a number > 0"),
            ))
        }
    };
    let spec = AcceleratorSpec {
        name: name.clone(),
        vendor: non_empty(ctx, &entry.vendor, T, index, "vendor")?.to_string(),
        family: family(entry.family.get_ref())
            .map_err(|m| ctx.err(&entry.family.span(), T, index, "family", m))?,
        memory_gib: figure(&entry.memory_gib, "memory_gib")?,
        memory_tb_s: figure(&entry.memory_tb_s, "memory_tb_s")?,
        bf16_dense_tflops: entry
            .bf16_dense_tflops
            .as_ref()
            .map(|v| figure(v, "bf16_dense_tflops"))
            .transpose()?,
        fp8_dense_tflops: entry
            .fp8_dense_tflops
            .as_ref()
            .map(|v| figure(v, "fp8_dense_tflops"))
            .transpose()?,
        chips_named_by: match &entry.chips_named_by {
            Some(v) => chips_named_by(v.get_ref())
                .map_err(|m| ctx.err(&v.span(), T, index, "chips_named_by", m))?,
            None => ChipsNamedBy::Device,
        },
    };
    // An entry for a name the catalog already knows (in any case) replaces that spec and
    // keeps the catalog's spelling, so offers stay attached.
    let canonical = catalog
        .accelerator_names()
        .into_iter()
        .find(|n| n.eq_ignore_ascii_case(&name))
        .map_or(name, str::to_string);
    let spec = AcceleratorSpec {
        name: canonical.clone(),
        ..spec
    };
    catalog.specs.retain(|s| s.name != canonical);
    for offer in catalog
        .offers
        .iter_mut()
        .filter(|o| o.accelerator == canonical)
    {
        offer.attach_spec(&spec);
    }
    catalog.specs.push(spec);
    Ok(())
}

/// Where an offer is sold: provider, region, zone and instance (or pool) name.
struct Placement {
    provider: String,
    region: String,
    zone: String,
    instance: String,
}

/// A new offer with the spec's figures attached when the accelerator has a spec.
fn new_offer(
    catalog: &Catalog,
    place: Placement,
    accelerator: String,
    chips: u32,
    (price, spot): (Option<UsdPerHour>, Option<UsdPerHour>),
    pricing: Pricing,
) -> Offer {
    let mut offer = Offer {
        provider: place.provider,
        region: place.region,
        zone: place.zone,
        accelerator,
        chips,
        instance: place.instance,
        price_per_hour: price,
        spot_price_per_hour: spot,
        list_price_per_hour: price,
        pricing,
        discount_percent: None,
        memory_gib: None,
        bf16_dense_tflops: None,
        fp8_dense_tflops: None,
        has_spec: false,
    };
    if let Some(spec) = catalog.specs.iter().find(|s| s.name == offer.accelerator) {
        offer.attach_spec(spec);
    }
    offer
}

fn added_offer(
    catalog: &Catalog,
    ctx: &Ctx<'_>,
    index: usize,
    added: &AddedOffer,
) -> Result<Offer, CatalogError> {
    const T: &str = "offer";
    let provider = non_empty(ctx, &added.provider, T, index, "provider")?.to_lowercase();
    if provider == OWNED_PROVIDER {
        return Err(ctx.err(
            &added.provider.span(),
            T,
            index,
            "provider",
            "'owned' is reserved for [[owned]] pools: use an [[owned]] table",
        ));
    }
    let region = non_empty(ctx, &added.region, T, index, "region")?.to_string();
    let zone = match &added.zone {
        Some(zone) => non_empty(ctx, zone, T, index, "zone")?.to_string(),
        None => region.clone(),
    };
    let instance = non_empty(ctx, &added.instance, T, index, "instance")?.to_string();
    let accelerator = resolved(
        ctx,
        &added.accelerator,
        T,
        index,
        "accelerator",
        catalog.accelerator_name(added.accelerator.get_ref()),
    )?
    .to_string();
    let chip_count = chips(ctx, &added.chips, T, index)?;
    let (on_demand, spot) = price_pair(
        ctx,
        &added.price_per_hour,
        &added.spot_price_per_hour,
        &added.instance.span(),
        T,
        index,
    )?;
    let place = Placement {
        provider,
        region,
        zone,
        instance,
    };
    let prices = (on_demand.map(UsdPerHour), spot.map(UsdPerHour));
    let mut offer = new_offer(
        catalog,
        place,
        accelerator,
        chip_count,
        prices,
        Pricing::Added,
    );
    if let Some(memory) = &added.memory_gib {
        offer.memory_gib = Some(price(ctx, memory, T, index, "memory_gib")?);
    }
    if catalog
        .offers
        .iter()
        .any(|o| o.identity_cmp(&offer).is_eq())
    {
        return Err(ctx.err(&added.instance.span(), T, index, "instance", "the catalog already has this offer (same provider, region, zone, instance): use [[price]] to change its price"));
    }
    Ok(offer)
}

fn owned_offer(
    catalog: &Catalog,
    ctx: &Ctx<'_>,
    index: usize,
    pool: &OwnedPool,
) -> Result<Offer, CatalogError> {
    const T: &str = "owned";
    let name = non_empty(ctx, &pool.name, T, index, "name")?.to_string();
    if catalog
        .offers
        .iter()
        .any(|o| o.provider == OWNED_PROVIDER && o.instance == name)
    {
        return Err(ctx.err(
            &pool.name.span(),
            T,
            index,
            "name",
            format!("an owned pool named '{name}' already exists: give each pool its own name"),
        ));
    }
    let accelerator = resolved(
        ctx,
        &pool.accelerator,
        T,
        index,
        "accelerator",
        catalog.accelerator_name(pool.accelerator.get_ref()),
    )?
    .to_string();
    let chip_count = chips(ctx, &pool.chips, T, index)?;
    let per_chip = price(
        ctx,
        &pool.price_per_chip_hour,
        T,
        index,
        "price_per_chip_hour",
    )?;
    let region = match &pool.region {
        Some(region) => non_empty(ctx, region, T, index, "region")?.to_string(),
        None => "on-prem".to_string(),
    };
    let zone = match &pool.zone {
        Some(zone) => non_empty(ctx, zone, T, index, "zone")?.to_string(),
        None => region.clone(),
    };
    let per_hour = UsdPerHour(per_chip * f64::from(chip_count));
    let place = Placement {
        provider: OWNED_PROVIDER.to_string(),
        region,
        zone,
        instance: name,
    };
    let prices = (Some(per_hour), None);
    Ok(new_offer(
        catalog,
        place,
        accelerator,
        chip_count,
        prices,
        Pricing::Owned,
    ))
}

/// A validated discount.
struct Rule {
    line: usize,
    provider: String,
    accelerator: Option<String>,
    region: Option<String>,
    factor: f64,
    percent: f64,
    spot: bool,
}

impl Rule {
    fn matches(&self, offer: &Offer) -> bool {
        offer.provider == self.provider
            && self
                .accelerator
                .as_ref()
                .is_none_or(|a| *a == offer.accelerator)
            && self.region.as_ref().is_none_or(|r| *r == offer.region)
    }

    /// More specific rules win: accelerator and region narrow a provider-wide rule.
    fn specificity(&self) -> u8 {
        2 * u8::from(self.accelerator.is_some()) + u8::from(self.region.is_some())
    }
}

fn apply_discounts(
    catalog: &mut Catalog,
    ctx: &Ctx<'_>,
    discounts: &[Discount],
) -> Result<(), CatalogError> {
    const T: &str = "discount";
    let mut rules: Vec<Rule> = Vec::new();
    for (index, d) in discounts.iter().enumerate() {
        let provider = resolved(
            ctx,
            &d.provider,
            T,
            index,
            "provider",
            catalog.provider(d.provider.get_ref()),
        )?
        .to_string();
        let accelerator = match &d.accelerator {
            Some(a) => Some(
                resolved(
                    ctx,
                    a,
                    T,
                    index,
                    "accelerator",
                    catalog.accelerator_name(a.get_ref()),
                )?
                .to_string(),
            ),
            None => None,
        };
        let region = match &d.region {
            Some(r) => {
                let regions = catalog
                    .offers
                    .iter()
                    .filter(|o| o.provider == provider)
                    .map(|o| o.region.as_str());
                let regions: Vec<&str> = regions.collect();
                Some(
                    resolved(
                        ctx,
                        r,
                        T,
                        index,
                        "region",
                        names::resolve(NameKind::Region, r.get_ref(), regions.iter().copied()),
                    )?
                    .to_string(),
                )
            }
            None => None,
        };
        let percent = *d.percent.get_ref();
        if !(percent > 0.0 && percent < 100.0) {
            return Err(ctx.err(
                &d.percent.span(),
                T,
                index,
                "percent",
                format!(
                    "{percent} is not a discount: use a percent between 0 and 100 (30 = 30% off)"
                ),
            ));
        }
        let line = line_of(ctx.text, &d.provider.span());
        if let Some(earlier) = rules
            .iter()
            .find(|r| r.provider == provider && r.accelerator == accelerator && r.region == region)
        {
            return Err(ctx.err(&d.provider.span(), T, index, "provider", format!("a discount for the same provider, accelerator and region is already given at line {}: keep one", earlier.line)));
        }
        rules.push(Rule {
            line,
            provider,
            accelerator,
            region,
            factor: 1.0 - percent / 100.0,
            percent,
            spot: d.spot,
        });
    }
    for offer in catalog
        .offers
        .iter_mut()
        .filter(|o| o.pricing == Pricing::List)
    {
        let Some(rule) = rules
            .iter()
            .filter(|r| r.matches(offer))
            .max_by_key(|r| r.specificity())
        else {
            continue;
        };
        if let Some(list) = offer.price_per_hour {
            offer.price_per_hour = Some(UsdPerHour(list.0 * rule.factor));
            offer.pricing = Pricing::Discounted;
            offer.discount_percent = Some(rule.percent);
        }
        if rule.spot {
            offer.spot_price_per_hour = offer
                .spot_price_per_hour
                .map(|s| UsdPerHour(s.0 * rule.factor));
        }
    }
    Ok(())
}

fn apply_custom_price(
    catalog: &mut Catalog,
    ctx: &Ctx<'_>,
    index: usize,
    custom: &CustomPrice,
) -> Result<(), CatalogError> {
    const T: &str = "price";
    let provider = resolved(
        ctx,
        &custom.provider,
        T,
        index,
        "provider",
        catalog.provider(custom.provider.get_ref()),
    )?
    .to_string();
    let instances: Vec<String> = {
        let mut v: Vec<String> = catalog
            .offers
            .iter()
            .filter(|o| o.provider == provider)
            .map(|o| o.instance.clone())
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let instance = resolved(
        ctx,
        &custom.instance,
        T,
        index,
        "instance",
        names::resolve(
            NameKind::Instance,
            custom.instance.get_ref(),
            instances.iter().map(String::as_str),
        ),
    )?
    .to_string();
    let (on_demand, spot) = price_pair(
        ctx,
        &custom.price_per_hour,
        &custom.spot_price_per_hour,
        &custom.instance.span(),
        T,
        index,
    )?;
    let wanted = |value: &Option<Spanned<String>>, actual: &str| {
        value
            .as_ref()
            .is_none_or(|v| v.get_ref().eq_ignore_ascii_case(actual))
    };
    let mut matched = 0;
    for offer in catalog.offers.iter_mut().filter(|o| {
        o.provider == provider
            && o.instance == instance
            && wanted(&custom.region, &o.region)
            && wanted(&custom.zone, &o.zone)
    }) {
        matched += 1;
        if let Some(p) = on_demand {
            offer.price_per_hour = Some(UsdPerHour(p));
            offer.pricing = Pricing::Custom;
            offer.discount_percent = None;
        }
        if let Some(s) = spot {
            offer.spot_price_per_hour = Some(UsdPerHour(s));
        }
    }
    if matched == 0 {
        let (span, key) = match (&custom.zone, &custom.region) {
            (Some(zone), _) => (zone.span(), "zone"),
            (None, Some(region)) => (region.span(), "region"),
            (None, None) => (custom.instance.span(), "instance"),
        };
        return Err(ctx.err(&span, T, index, key, format!("no {provider} offer of {instance} there: check the region and zone with `spillway offers --provider {provider}`")));
    }
    Ok(())
}
