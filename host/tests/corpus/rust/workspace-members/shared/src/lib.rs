//! Types and rules the workspace's functions share.
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize)]
pub struct Line {
    pub sku: String,
    pub unit_cents: u64,
    pub quantity: u32,
}

#[derive(Debug, Deserialize)]
pub struct Order {
    pub customer: String,
    pub lines: Vec<Line>,
    #[serde(default)]
    pub coupon: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Quote {
    pub customer: String,
    pub subtotal_cents: u64,
    pub discount_cents: u64,
    pub total_cents: u64,
}

#[derive(Debug)]
pub struct UnknownCoupon(pub String);

impl std::fmt::Display for UnknownCoupon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "coupon {:?} does not exist", self.0)
    }
}

impl std::error::Error for UnknownCoupon {}

/// Prices an order: SAVE10 takes 10% off.
pub fn quote(order: &Order) -> Result<Quote, UnknownCoupon> {
    let subtotal_cents: u64 = order
        .lines
        .iter()
        .map(|line| line.unit_cents * u64::from(line.quantity))
        .sum();
    let discount_cents = match order.coupon.as_deref() {
        None => 0,
        Some("SAVE10") => subtotal_cents / 10,
        Some(other) => return Err(UnknownCoupon(other.to_string())),
    };
    Ok(Quote {
        customer: order.customer.clone(),
        subtotal_cents,
        discount_cents,
        total_cents: subtotal_cents - discount_cents,
    })
}
