//! The JSON field names of each OTLP metrics message and the kind of each field's value.
//!
//! Each field is matched by its lowerCamelCase JSON name and by its original proto name; the
//! number passed with it is its bit in the duplicate check (unique within the message).

use serde::de::MapAccess;

use super::decode::{
    Base64, Bool, F64, Fields, Hex, I32, I64, List, Message, Msg, Str, Temporality, U32, U64,
};
use crate::otlp::collector::ExportMetricsServiceRequest;
use crate::otlp::common::any_value::Value as AnyValueKind;
use crate::otlp::common::{AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList};
use crate::otlp::metrics::exponential_histogram_data_point::Buckets;
use crate::otlp::metrics::summary_data_point::ValueAtQuantile;
use crate::otlp::metrics::{
    Exemplar, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram,
    HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary,
    SummaryDataPoint, exemplar, metric, number_data_point,
};
use crate::otlp::resource::Resource;

type Attributes = List<Msg<KeyValue>>;

impl Message for ExportMetricsServiceRequest {
    const EXPECTED: &'static str = "an ExportMetricsServiceRequest object";
    fn field<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        f: &mut Fields<'_, '_, A>,
    ) -> Result<(), A::Error> {
        match key {
            "resourceMetrics" | "resource_metrics" => {
                self.resource_metrics =
                    f.value::<List<Msg<ResourceMetrics>>>("resourceMetrics", 0)?;
            }
            _ => f.skip(key)?,
        }
        Ok(())
    }
}

impl Message for ResourceMetrics {
    const EXPECTED: &'static str = "a ResourceMetrics object";
    fn field<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        f: &mut Fields<'_, '_, A>,
    ) -> Result<(), A::Error> {
        match key {
            "resource" => self.resource = f.optional::<Msg<Resource>>("resource", 0)?,
            "scopeMetrics" | "scope_metrics" => {
                self.scope_metrics = f.value::<List<Msg<ScopeMetrics>>>("scopeMetrics", 1)?;
            }
            // Writers from before OTLP 1.0 (proto 0.x) named the same message
            // InstrumentationLibraryMetrics; skipping it would lose their data.
            "instrumentationLibraryMetrics" | "instrumentation_library_metrics" => {
                self.scope_metrics =
                    f.value::<List<Msg<ScopeMetrics>>>("instrumentationLibraryMetrics", 1)?;
            }
            "schemaUrl" | "schema_url" => self.schema_url = f.value::<Str>("schemaUrl", 2)?,
            _ => f.skip(key)?,
        }
        Ok(())
    }
}

impl Message for Resource {
    const EXPECTED: &'static str = "a Resource object";
    fn field<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        f: &mut Fields<'_, '_, A>,
    ) -> Result<(), A::Error> {
        match key {
            "attributes" => self.attributes = f.value::<Attributes>("attributes", 0)?,
            "droppedAttributesCount" | "dropped_attributes_count" => {
                self.dropped_attributes_count = f.value::<U32>("droppedAttributesCount", 1)?;
            }
            _ => f.skip(key)?,
        }
        Ok(())
    }
}

impl Message for ScopeMetrics {
    const EXPECTED: &'static str = "a ScopeMetrics object";
    fn field<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        f: &mut Fields<'_, '_, A>,
    ) -> Result<(), A::Error> {
        match key {
            "scope" => self.scope = f.optional::<Msg<InstrumentationScope>>("scope", 0)?,
            "instrumentationLibrary" | "instrumentation_library" => {
                self.scope =
                    f.optional::<Msg<InstrumentationScope>>("instrumentationLibrary", 0)?;
            }
            "metrics" => self.metrics = f.value::<List<Msg<Metric>>>("metrics", 1)?,
            "schemaUrl" | "schema_url" => self.schema_url = f.value::<Str>("schemaUrl", 2)?,
            _ => f.skip(key)?,
        }
        Ok(())
    }
}

impl Message for InstrumentationScope {
    const EXPECTED: &'static str = "an InstrumentationScope object";
    fn field<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        f: &mut Fields<'_, '_, A>,
    ) -> Result<(), A::Error> {
        match key {
            "name" => self.name = f.value::<Str>("name", 0)?,
            "version" => self.version = f.value::<Str>("version", 1)?,
            "attributes" => self.attributes = f.value::<Attributes>("attributes", 2)?,
            "droppedAttributesCount" | "dropped_attributes_count" => {
                self.dropped_attributes_count = f.value::<U32>("droppedAttributesCount", 3)?;
            }
            _ => f.skip(key)?,
        }
        Ok(())
    }
}

impl Message for KeyValue {
    const EXPECTED: &'static str = "a KeyValue object";
    fn field<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        f: &mut Fields<'_, '_, A>,
    ) -> Result<(), A::Error> {
        match key {
            "key" => self.key = f.value::<Str>("key", 0)?,
            "value" => self.value = f.optional::<Msg<AnyValue>>("value", 1)?,
            _ => f.skip(key)?,
        }
        Ok(())
    }
}

const ANY_VALUE: &[&str] = &[
    "stringValue",
    "boolValue",
    "intValue",
    "doubleValue",
    "arrayValue",
    "kvlistValue",
    "bytesValue",
];

impl Message for AnyValue {
    const EXPECTED: &'static str = "an AnyValue object";
    fn field<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        f: &mut Fields<'_, '_, A>,
    ) -> Result<(), A::Error> {
        let v = &mut self.value;
        match key {
            "stringValue" | "string_value" => {
                f.oneof::<Str, _>(v, "stringValue", 0, ANY_VALUE, AnyValueKind::StringValue)?;
            }
            "boolValue" | "bool_value" => {
                f.oneof::<Bool, _>(v, "boolValue", 1, ANY_VALUE, AnyValueKind::BoolValue)?;
            }
            "intValue" | "int_value" => {
                f.oneof::<I64, _>(v, "intValue", 2, ANY_VALUE, AnyValueKind::IntValue)?;
            }
            "doubleValue" | "double_value" => {
                f.oneof::<F64, _>(v, "doubleValue", 3, ANY_VALUE, AnyValueKind::DoubleValue)?;
            }
            "arrayValue" | "array_value" => f.oneof::<Msg<ArrayValue>, _>(
                v,
                "arrayValue",
                4,
                ANY_VALUE,
                AnyValueKind::ArrayValue,
            )?,
            "kvlistValue" | "kvlist_value" => f.oneof::<Msg<KeyValueList>, _>(
                v,
                "kvlistValue",
                5,
                ANY_VALUE,
                AnyValueKind::KvlistValue,
            )?,
            "bytesValue" | "bytes_value" => {
                f.oneof::<Base64, _>(v, "bytesValue", 6, ANY_VALUE, AnyValueKind::BytesValue)?;
            }
            _ => f.skip(key)?,
        }
        Ok(())
    }
}

impl Message for ArrayValue {
    const EXPECTED: &'static str = "an ArrayValue object";
    fn field<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        f: &mut Fields<'_, '_, A>,
    ) -> Result<(), A::Error> {
        match key {
            "values" => self.values = f.value::<List<Msg<AnyValue>>>("values", 0)?,
            _ => f.skip(key)?,
        }
        Ok(())
    }
}

impl Message for KeyValueList {
    const EXPECTED: &'static str = "a KeyValueList object";
    fn field<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        f: &mut Fields<'_, '_, A>,
    ) -> Result<(), A::Error> {
        match key {
            "values" => self.values = f.value::<Attributes>("values", 0)?,
            _ => f.skip(key)?,
        }
        Ok(())
    }
}

const METRIC_DATA: &[&str] = &["gauge", "sum", "histogram", "exponentialHistogram", "summary"];

impl Message for Metric {
    const EXPECTED: &'static str = "a Metric object";
    fn field<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        f: &mut Fields<'_, '_, A>,
    ) -> Result<(), A::Error> {
        let d = &mut self.data;
        match key {
            "name" => self.name = f.value::<Str>("name", 0)?,
            "description" => self.description = f.value::<Str>("description", 1)?,
            "unit" => self.unit = f.value::<Str>("unit", 2)?,
            "metadata" => self.metadata = f.value::<Attributes>("metadata", 3)?,
            "gauge" => f.oneof::<Msg<Gauge>, _>(d, "gauge", 4, METRIC_DATA, metric::Data::Gauge)?,
            "sum" => f.oneof::<Msg<Sum>, _>(d, "sum", 5, METRIC_DATA, metric::Data::Sum)?,
            "histogram" => f.oneof::<Msg<Histogram>, _>(
                d,
                "histogram",
                6,
                METRIC_DATA,
                metric::Data::Histogram,
            )?,
            "exponentialHistogram" | "exponential_histogram" => {
                f.oneof::<Msg<ExponentialHistogram>, _>(
                    d,
                    "exponentialHistogram",
                    7,
                    METRIC_DATA,
                    metric::Data::ExponentialHistogram,
                )?;
            }
            "summary" => {
                f.oneof::<Msg<Summary>, _>(d, "summary", 8, METRIC_DATA, metric::Data::Summary)?;
            }
            _ => f.skip(key)?,
        }
        Ok(())
    }
}

impl Message for Gauge {
    const EXPECTED: &'static str = "a Gauge object";
    fn field<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        f: &mut Fields<'_, '_, A>,
    ) -> Result<(), A::Error> {
        match key {
            "dataPoints" | "data_points" => {
                self.data_points = f.value::<List<Msg<NumberDataPoint>>>("dataPoints", 0)?;
            }
            _ => f.skip(key)?,
        }
        Ok(())
    }
}

impl Message for Sum {
    const EXPECTED: &'static str = "a Sum object";
    fn field<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        f: &mut Fields<'_, '_, A>,
    ) -> Result<(), A::Error> {
        match key {
            "dataPoints" | "data_points" => {
                self.data_points = f.value::<List<Msg<NumberDataPoint>>>("dataPoints", 0)?;
            }
            "aggregationTemporality" | "aggregation_temporality" => {
                self.aggregation_temporality =
                    f.value::<Temporality>("aggregationTemporality", 1)?;
            }
            "isMonotonic" | "is_monotonic" => {
                self.is_monotonic = f.value::<Bool>("isMonotonic", 2)?;
            }
            _ => f.skip(key)?,
        }
        Ok(())
    }
}

impl Message for Histogram {
    const EXPECTED: &'static str = "a Histogram object";
    fn field<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        f: &mut Fields<'_, '_, A>,
    ) -> Result<(), A::Error> {
        match key {
            "dataPoints" | "data_points" => {
                self.data_points = f.value::<List<Msg<HistogramDataPoint>>>("dataPoints", 0)?;
            }
            "aggregationTemporality" | "aggregation_temporality" => {
                self.aggregation_temporality =
                    f.value::<Temporality>("aggregationTemporality", 1)?;
            }
            _ => f.skip(key)?,
        }
        Ok(())
    }
}

impl Message for ExponentialHistogram {
    const EXPECTED: &'static str = "an ExponentialHistogram object";
    fn field<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        f: &mut Fields<'_, '_, A>,
    ) -> Result<(), A::Error> {
        match key {
            "dataPoints" | "data_points" => {
                self.data_points =
                    f.value::<List<Msg<ExponentialHistogramDataPoint>>>("dataPoints", 0)?;
            }
            "aggregationTemporality" | "aggregation_temporality" => {
                self.aggregation_temporality =
                    f.value::<Temporality>("aggregationTemporality", 1)?;
            }
            _ => f.skip(key)?,
        }
        Ok(())
    }
}

impl Message for Summary {
    const EXPECTED: &'static str = "a Summary object";
    fn field<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        f: &mut Fields<'_, '_, A>,
    ) -> Result<(), A::Error> {
        match key {
            "dataPoints" | "data_points" => {
                self.data_points = f.value::<List<Msg<SummaryDataPoint>>>("dataPoints", 0)?;
            }
            _ => f.skip(key)?,
        }
        Ok(())
    }
}

const POINT_VALUE: &[&str] = &["asDouble", "asInt"];

impl Message for NumberDataPoint {
    const EXPECTED: &'static str = "a NumberDataPoint object";
    fn field<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        f: &mut Fields<'_, '_, A>,
    ) -> Result<(), A::Error> {
        use number_data_point::Value;
        match key {
            "attributes" => self.attributes = f.value::<Attributes>("attributes", 0)?,
            "startTimeUnixNano" | "start_time_unix_nano" => {
                self.start_time_unix_nano = f.value::<U64>("startTimeUnixNano", 1)?;
            }
            "timeUnixNano" | "time_unix_nano" => {
                self.time_unix_nano = f.value::<U64>("timeUnixNano", 2)?;
            }
            "asDouble" | "as_double" => {
                f.oneof::<F64, _>(&mut self.value, "asDouble", 3, POINT_VALUE, Value::AsDouble)?;
            }
            "asInt" | "as_int" => {
                f.oneof::<I64, _>(&mut self.value, "asInt", 4, POINT_VALUE, Value::AsInt)?;
            }
            "exemplars" => self.exemplars = f.value::<List<Msg<Exemplar>>>("exemplars", 5)?,
            "flags" => self.flags = f.value::<U32>("flags", 6)?,
            _ => f.skip(key)?,
        }
        Ok(())
    }
}

impl Message for HistogramDataPoint {
    const EXPECTED: &'static str = "a HistogramDataPoint object";
    fn field<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        f: &mut Fields<'_, '_, A>,
    ) -> Result<(), A::Error> {
        match key {
            "attributes" => self.attributes = f.value::<Attributes>("attributes", 0)?,
            "startTimeUnixNano" | "start_time_unix_nano" => {
                self.start_time_unix_nano = f.value::<U64>("startTimeUnixNano", 1)?;
            }
            "timeUnixNano" | "time_unix_nano" => {
                self.time_unix_nano = f.value::<U64>("timeUnixNano", 2)?;
            }
            "count" => self.count = f.value::<U64>("count", 3)?,
            "sum" => self.sum = f.optional::<F64>("sum", 4)?,
            "bucketCounts" | "bucket_counts" => {
                self.bucket_counts = f.value::<List<U64>>("bucketCounts", 5)?;
            }
            "explicitBounds" | "explicit_bounds" => {
                self.explicit_bounds = f.value::<List<F64>>("explicitBounds", 6)?;
            }
            "exemplars" => self.exemplars = f.value::<List<Msg<Exemplar>>>("exemplars", 7)?,
            "flags" => self.flags = f.value::<U32>("flags", 8)?,
            "min" => self.min = f.optional::<F64>("min", 9)?,
            "max" => self.max = f.optional::<F64>("max", 10)?,
            _ => f.skip(key)?,
        }
        Ok(())
    }
}

impl Message for ExponentialHistogramDataPoint {
    const EXPECTED: &'static str = "an ExponentialHistogramDataPoint object";
    fn field<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        f: &mut Fields<'_, '_, A>,
    ) -> Result<(), A::Error> {
        match key {
            "attributes" => self.attributes = f.value::<Attributes>("attributes", 0)?,
            "startTimeUnixNano" | "start_time_unix_nano" => {
                self.start_time_unix_nano = f.value::<U64>("startTimeUnixNano", 1)?;
            }
            "timeUnixNano" | "time_unix_nano" => {
                self.time_unix_nano = f.value::<U64>("timeUnixNano", 2)?;
            }
            "count" => self.count = f.value::<U64>("count", 3)?,
            "sum" => self.sum = f.optional::<F64>("sum", 4)?,
            "scale" => self.scale = f.value::<I32>("scale", 5)?,
            "zeroCount" | "zero_count" => self.zero_count = f.value::<U64>("zeroCount", 6)?,
            "positive" => self.positive = f.optional::<Msg<Buckets>>("positive", 7)?,
            "negative" => self.negative = f.optional::<Msg<Buckets>>("negative", 8)?,
            "flags" => self.flags = f.value::<U32>("flags", 9)?,
            "exemplars" => self.exemplars = f.value::<List<Msg<Exemplar>>>("exemplars", 10)?,
            "min" => self.min = f.optional::<F64>("min", 11)?,
            "max" => self.max = f.optional::<F64>("max", 12)?,
            "zeroThreshold" | "zero_threshold" => {
                self.zero_threshold = f.value::<F64>("zeroThreshold", 13)?;
            }
            _ => f.skip(key)?,
        }
        Ok(())
    }
}

impl Message for Buckets {
    const EXPECTED: &'static str = "a Buckets object";
    fn field<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        f: &mut Fields<'_, '_, A>,
    ) -> Result<(), A::Error> {
        match key {
            "offset" => self.offset = f.value::<I32>("offset", 0)?,
            "bucketCounts" | "bucket_counts" => {
                self.bucket_counts = f.value::<List<U64>>("bucketCounts", 1)?;
            }
            _ => f.skip(key)?,
        }
        Ok(())
    }
}

impl Message for SummaryDataPoint {
    const EXPECTED: &'static str = "a SummaryDataPoint object";
    fn field<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        f: &mut Fields<'_, '_, A>,
    ) -> Result<(), A::Error> {
        match key {
            "attributes" => self.attributes = f.value::<Attributes>("attributes", 0)?,
            "startTimeUnixNano" | "start_time_unix_nano" => {
                self.start_time_unix_nano = f.value::<U64>("startTimeUnixNano", 1)?;
            }
            "timeUnixNano" | "time_unix_nano" => {
                self.time_unix_nano = f.value::<U64>("timeUnixNano", 2)?;
            }
            "count" => self.count = f.value::<U64>("count", 3)?,
            "sum" => self.sum = f.value::<F64>("sum", 4)?,
            "quantileValues" | "quantile_values" => {
                self.quantile_values =
                    f.value::<List<Msg<ValueAtQuantile>>>("quantileValues", 5)?;
            }
            "flags" => self.flags = f.value::<U32>("flags", 6)?,
            _ => f.skip(key)?,
        }
        Ok(())
    }
}

impl Message for ValueAtQuantile {
    const EXPECTED: &'static str = "a ValueAtQuantile object";
    fn field<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        f: &mut Fields<'_, '_, A>,
    ) -> Result<(), A::Error> {
        match key {
            "quantile" => self.quantile = f.value::<F64>("quantile", 0)?,
            "value" => self.value = f.value::<F64>("value", 1)?,
            _ => f.skip(key)?,
        }
        Ok(())
    }
}

impl Message for Exemplar {
    const EXPECTED: &'static str = "an Exemplar object";
    fn field<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        f: &mut Fields<'_, '_, A>,
    ) -> Result<(), A::Error> {
        use exemplar::Value;
        match key {
            "filteredAttributes" | "filtered_attributes" => {
                self.filtered_attributes = f.value::<Attributes>("filteredAttributes", 0)?;
            }
            "timeUnixNano" | "time_unix_nano" => {
                self.time_unix_nano = f.value::<U64>("timeUnixNano", 1)?;
            }
            "asDouble" | "as_double" => {
                f.oneof::<F64, _>(&mut self.value, "asDouble", 2, POINT_VALUE, Value::AsDouble)?;
            }
            "asInt" | "as_int" => {
                f.oneof::<I64, _>(&mut self.value, "asInt", 3, POINT_VALUE, Value::AsInt)?;
            }
            "spanId" | "span_id" => self.span_id = f.value::<Hex>("spanId", 4)?,
            "traceId" | "trace_id" => self.trace_id = f.value::<Hex>("traceId", 5)?,
            _ => f.skip(key)?,
        }
        Ok(())
    }
}
