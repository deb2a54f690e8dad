//! The settlement report readers against the shared samples (`core/testdata/README.md`): every row read, by
//! header name, to the totals the samples' collector computed independently with Python `decimal`.

use paygate_core::money::Currency;
use paygate_core::settlement::{self, HeaderError, ReportFormat, ReportRow, RowKind};
use serde_json::Value;
use std::collections::BTreeMap;

const STRIPE: &str = include_str!("../testdata/stripe_balance_change_from_activity_itemized_3.sample.csv");
const ADYEN: &str = include_str!("../testdata/adyen_settlement_details_report.sample.csv");
const TOTALS: &str = include_str!("../testdata/expected_totals.json");

fn rows(format: ReportFormat, text: &str) -> Vec<ReportRow> {
    settlement::read(format, text.as_bytes()).unwrap().map(Result::unwrap).collect()
}

/// `"461.56"` in minor units of `code`, with the same reader the reports use.
fn minor(text: &Value, code: &str) -> i64 {
    settlement::signed_minor(text.as_str().unwrap(), Currency::parse(code).unwrap()).unwrap()
}

#[test]
fn stripes_sample_reads_to_its_totals_by_category_and_payout() {
    let expected: Value = serde_json::from_str(TOTALS).unwrap();
    let stripe = &expected["stripe"];
    let rows = rows(ReportFormat::StripeItemized3, STRIPE);
    assert_eq!(rows.len() as u64, stripe["row_count"].as_u64().unwrap());
    let sum = |f: fn(&ReportRow) -> i64| rows.iter().map(f).sum::<i64>();
    assert_eq!(sum(|r| r.gross), minor(&stripe["totals"]["gross"], "USD"));
    assert_eq!(sum(|r| r.fee), minor(&stripe["totals"]["fee"], "USD"));
    assert_eq!(sum(|r| r.net), minor(&stripe["totals"]["net"], "USD"));
    let mut by_category: BTreeMap<&str, (u64, i64, i64, i64)> = BTreeMap::new();
    for row in &rows {
        let entry = by_category.entry(row.raw_type.as_str()).or_default();
        *entry = (entry.0 + 1, entry.1 + row.gross, entry.2 + row.fee, entry.3 + row.net);
    }
    for (category, totals) in stripe["by_reporting_category"].as_object().unwrap() {
        let expected = (
            totals["count"].as_u64().unwrap(),
            minor(&totals["gross"], "USD"),
            minor(&totals["fee"], "USD"),
            minor(&totals["net"], "USD"),
        );
        assert_eq!(by_category[category.as_str()], expected, "{category}");
    }
    for (payout, totals) in stripe["payouts"].as_object().unwrap() {
        let of_payout: Vec<&ReportRow> = rows.iter().filter(|r| r.payout.as_deref() == Some(payout)).collect();
        assert_eq!(of_payout.len() as u64, totals["row_count"].as_u64().unwrap());
        assert_eq!(of_payout.iter().map(|r| r.net).sum::<i64>(), minor(&totals["net"], "USD"));
    }
    let unpaid: i64 = rows.iter().filter(|r| r.payout.is_none()).map(|r| r.net).sum();
    assert_eq!(unpaid, minor(&stripe["not_yet_paid_out_net"], "USD"));
    // `created_utc` is read, not `created` (three hours later in the run's zone): 2026-11-01 09:15:02 UTC.
    assert_eq!(rows[0].occurred_at, Some(1_793_524_502));
    // The EUR card settled in USD: what the customer paid is kept beside what Stripe credited.
    let converted = &rows[2];
    assert_eq!(
        (converted.gross, converted.presentment.map(|p| (p.minor, p.currency.code()))),
        (2_164, Some((2_000, "EUR")))
    );
    // A refund's presentment carries the row's sign; its object is Stripe's refund.
    let refund = rows.iter().find(|r| r.kind == RowKind::Refund).unwrap();
    assert_eq!(
        (refund.presentment.unwrap().minor, refund.processor_object.as_deref()),
        (-2_000, Some("re_3SynthTest0000000000000001"))
    );
    // The partial capture: 80.00 authorized, 30.00 given back (its row has no customer-facing amount: the gross
    // is what the customer got back), so what the customer paid adds up to the 50.00 captured.
    let partial: i64 = rows
        .iter()
        .filter(|r| r.processor_object.as_deref() == Some("ch_3SynthTest0000000000000004"))
        .map(|r| r.presentment.unwrap().minor)
        .sum();
    assert_eq!(partial, 5_000);
    assert_eq!(rows.iter().filter(|r| r.kind == RowKind::CaptureReversal).count(), 1);
}

#[test]
fn adyens_sample_reads_to_its_batch_totals_and_the_payout_is_the_rest() {
    let expected: Value = serde_json::from_str(TOTALS).unwrap();
    let adyen = &expected["adyen"];
    let rows = rows(ReportFormat::AdyenSettlementDetails, ADYEN);
    assert_eq!(rows.len() as u64, adyen["row_count"].as_u64().unwrap());
    assert!(rows.iter().all(|r| r.payout.as_deref() == Some("42") && r.settlement_currency.code() == "EUR"));
    let (payouts, others): (Vec<&ReportRow>, Vec<&ReportRow>) = rows.iter().partition(|r| r.kind == RowKind::Payout);
    let credits: i64 = others.iter().map(|r| r.net.max(0)).sum();
    let debits: i64 = others.iter().map(|r| (-r.net).max(0)).sum();
    assert_eq!(credits, minor(&adyen["sum_net_credit_excluding_payout"], "EUR"));
    assert_eq!(debits, minor(&adyen["sum_net_debit_excluding_payout"], "EUR"));
    assert_eq!(-payouts[0].net, minor(&adyen["merchant_payout_net_debit"], "EUR"));
    assert_eq!(others.iter().map(|r| r.net).sum::<i64>(), -payouts[0].net, "the batch pays out what it holds");
    for (record_type, totals) in adyen["by_type"].as_object().unwrap() {
        let of_type: Vec<&ReportRow> = rows.iter().filter(|r| r.raw_type == *record_type).collect();
        assert_eq!(of_type.len() as u64, totals["count"].as_u64().unwrap(), "{record_type}");
        assert_eq!(of_type.iter().map(|r| r.net.max(0)).sum::<i64>(), minor(&totals["net_credit"], "EUR"));
        assert_eq!(of_type.iter().map(|r| (-r.net).max(0)).sum::<i64>(), minor(&totals["net_debit"], "EUR"));
    }
    // The USD capture: 120.00 USD paid, 109.62 EUR credited after 0.96 EUR of fees (gross 110.58 EUR).
    let usd = rows.iter().find(|r| r.presentment.is_some_and(|p| p.currency.code() == "USD")).unwrap();
    assert_eq!((usd.presentment.unwrap().minor, usd.gross, usd.fee, usd.net), (12_000, 11_058, 96, 10_962));
    // The chargeback: 59.99 taken back and a 7.50 fee beside it.
    let chargeback = rows.iter().find(|r| r.kind == RowKind::Dispute).unwrap();
    assert_eq!((chargeback.gross, chargeback.fee, chargeback.net), (-5_999, 750, -6_749));
    // CET is UTC+1: 2026-11-02 10:11:12 CET is 09:11:12 UTC (Unix time from Python's datetime).
    assert_eq!(rows[0].occurred_at, Some(1_793_610_672));
}

/// The sample rewritten in Adyen's 30-column order: `Payment Method Variant` and `Modification Merchant
/// Reference` before `Batch Number`, seven reserved columns after it, and the first two columns swapped.
fn thirty_columns(text: &str) -> String {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
    let batch = header.iter().position(|h| h == "Batch Number").unwrap();
    let mut order: Vec<Option<usize>> = (0..batch).map(Some).collect();
    order.swap(0, 1);
    let mut names: Vec<String> = order.iter().map(|i| header[i.unwrap()].clone()).collect();
    names.extend(["Payment Method Variant".into(), "Modification Merchant Reference".into(), "Batch Number".into()]);
    names.extend((24..=30).map(|n| format!("Reserved{n}")));
    order.extend([None, None, Some(batch)]);
    order.extend((24..=30).map(|_| None));
    let mut writer = csv::Writer::from_writer(vec![]);
    writer.write_record(&names).unwrap();
    for record in reader.records() {
        let record = record.unwrap();
        let variant = if record.get(4) == Some("visa") { "visaclassic" } else { "" };
        let values: Vec<&str> = order
            .iter()
            .enumerate()
            .map(|(at, i)| match i {
                Some(i) => record.get(*i).unwrap(),
                None if at == batch => variant,
                None => "",
            })
            .collect();
        writer.write_record(&values).unwrap();
    }
    String::from_utf8(writer.into_inner().unwrap()).unwrap()
}

#[test]
fn adyens_thirty_column_layout_reads_to_the_same_rows_by_name() {
    let rewritten = thirty_columns(ADYEN);
    assert_eq!(rewritten.lines().next().unwrap().split(',').count(), 30);
    assert_ne!(rewritten.lines().next(), ADYEN.lines().next());
    assert_eq!(
        rows(ReportFormat::AdyenSettlementDetails, &rewritten),
        rows(ReportFormat::AdyenSettlementDetails, ADYEN)
    );
}

#[test]
fn a_missing_column_is_named_and_a_bad_row_names_its_line_and_field_without_stopping_the_rest() {
    let without_fee = STRIPE.replacen(",fee,", ",charges,", 1);
    assert_eq!(
        settlement::read(ReportFormat::StripeItemized3, without_fee.as_bytes()).err(),
        Some(HeaderError::Missing(vec!["fee".into()]))
    );
    assert_eq!(settlement::read(ReportFormat::SandboxDaily, "".as_bytes()).err(), Some(HeaderError::Empty));
    // Line 3 gets a float-looking amount, line 5 a net that is not gross − fee.
    let mut lines: Vec<String> = STRIPE.lines().map(str::to_owned).collect();
    lines[2] = lines[2].replacen(",59.99,2.04,57.95,", ",5.999e1,2.04,57.95,", 1);
    lines[4] = lines[4].replacen(",80.00,1.75,78.25,", ",80.00,1.75,78.26,", 1);
    let text = lines.join("\n");
    let results: Vec<_> = settlement::read(ReportFormat::StripeItemized3, text.as_bytes()).unwrap().collect();
    assert_eq!(results.len(), 10);
    let errors: Vec<(u64, Option<String>)> =
        results.iter().filter_map(|r| r.as_ref().err()).map(|e| (e.line, e.field.clone())).collect();
    assert_eq!(errors, [(3, Some("gross".into())), (5, Some("net".into()))]);
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 8);
}

/// A row's kind, gross, fee, net, our charge and our refund.
type Summary<'a> = (RowKind, i64, i64, i64, Option<&'a str>, Option<&'a str>);

#[test]
fn checkout_and_sandbox_reports_read_our_ids_and_sign_fees_as_charged() {
    let charge = paygate_core::id::ChargeId::new(1_793_438_102_000, [7; 10]).to_string();
    let refund = paygate_core::id::RefundId::new(1_793_438_103_000, [9; 10]).to_string();
    let checkout = format!(
        "{}\npo_1,pay_1,act_1,Capture,{charge},2026-11-02T10:00:00Z,Gross,SAR,100.00,SAR,100.00\n\
         po_1,pay_1,act_1,Capture,{charge},2026-11-02T10:00:00Z,Interchange Fee,SAR,,SAR,-1.25\n\
         po_1,pay_1,act_2,Refund,{refund},2026-11-03T10:00:00Z,Gross,SAR,40.00,SAR,-40.00\n",
        paygate_core::settlement::checkout::COLUMNS.join(",")
    );
    let actions = rows(ReportFormat::CheckoutFinancialActions, &checkout);
    let summary: Vec<Summary<'_>> = actions
        .iter()
        .map(|r| (r.kind.clone(), r.gross, r.fee, r.net, r.our_charge.as_deref(), r.our_refund.as_deref()))
        .collect();
    assert_eq!(
        summary,
        [
            (RowKind::Capture, 10_000, 0, 10_000, Some(charge.as_str()), None),
            (RowKind::Capture, 0, 125, -125, Some(charge.as_str()), None),
            (RowKind::Refund, -4_000, 0, -4_000, None, Some(refund.as_str())),
        ]
    );
    assert_eq!(actions[0].row_key, "act_1:Gross");
    let sandbox = format!(
        "{}\nsr_1,2026-11-02 10:00:00,capture,{charge},,sbx_1,KWD,12345,370,11975,\n\
         sr_2,2026-11-02 10:00:00,bonus,,,,KWD,1,0,1,\n",
        paygate_core::settlement::sandbox::COLUMNS.join(",")
    );
    let daily = rows(ReportFormat::SandboxDaily, &sandbox);
    assert_eq!(
        (daily[0].gross, daily[0].fee, daily[0].net, daily[0].settlement_currency.code()),
        (12_345, 370, 11_975, "KWD")
    );
    assert_eq!(daily[1].kind, RowKind::Unknown("bonus".into()));
}

#[test]
fn a_returned_payout_is_a_payout_failure_naming_its_payout_in_stripe_and_the_sandbox() {
    let stripe = "balance_transaction_id,created_utc,currency,gross,fee,net,reporting_category,source_id,automatic_payout_id\n\
                  txn_1,2026-11-04 09:00:00,eur,24.75,0.00,24.75,payout_reversal,po_1Abc,\n\
                  txn_2,2026-11-04 09:00:00,eur,1.00,0.00,1.00,other_adjustment,adj_1,po_2\n";
    let read = rows(ReportFormat::StripeItemized3, stripe);
    assert_eq!(
        (read[0].kind.clone(), read[0].payout.as_deref(), read[0].net),
        (RowKind::PayoutFailure, Some("po_1Abc"), 2_475)
    );
    assert_eq!((read[1].kind.clone(), read[1].payout.as_deref()), (RowKind::Adjustment, Some("po_2")));
    let sandbox = format!(
        "{}\nsr_9,2026-11-04 09:00:00,payout_failure,,,,EUR,2475,0,2475,sbxpo_1\n",
        paygate_core::settlement::sandbox::COLUMNS.join(",")
    );
    let read = rows(ReportFormat::SandboxDaily, &sandbox);
    assert_eq!((read[0].kind.as_str(), read[0].payout.as_deref()), ("payout_failure", Some("sbxpo_1")));
}
