//! Data producers and data consumers: `/data-producers/{id}` and `/data-consumers/{id}`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use mediagate_engine::ids::{DataConsumerId, DataProducerId};
use mediagate_engine::router::{DataConsumerInfo, DataProducerInfo};

use super::AppState;
use super::error::ApiError;
use super::extract::Path;

pub(super) fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route(
            "/data-producers/{dataProducerId}",
            get(get_data_producer).delete(delete_data_producer),
        )
        .route(
            "/data-consumers/{dataConsumerId}",
            get(get_data_consumer).delete(delete_data_consumer),
        )
}

/// A data producer.
#[utoipa::path(get, path = "/data-producers/{dataProducerId}", tag = "data",
    params(("dataProducerId" = DataProducerId, Path, description = "Data producer id")),
    responses((status = 200, description = "The data producer", body = DataProducerInfo)))]
async fn get_data_producer(
    State(control): State<AppState>,
    Path(id): Path<DataProducerId>,
) -> Result<axum::Json<DataProducerInfo>, ApiError> {
    Ok(axum::Json(control.data_producer(id).await?))
}

/// Closes a data producer; its data consumers close and their owners learn `dataConsumer.closed`.
#[utoipa::path(delete, path = "/data-producers/{dataProducerId}", tag = "data",
    params(("dataProducerId" = DataProducerId, Path, description = "Data producer id")),
    responses((status = 204, description = "Data producer closed")))]
async fn delete_data_producer(
    State(control): State<AppState>,
    Path(id): Path<DataProducerId>,
) -> Result<StatusCode, ApiError> {
    control.close_data_producer(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A data consumer.
#[utoipa::path(get, path = "/data-consumers/{dataConsumerId}", tag = "data",
    params(("dataConsumerId" = DataConsumerId, Path, description = "Data consumer id")),
    responses((status = 200, description = "The data consumer", body = DataConsumerInfo)))]
async fn get_data_consumer(
    State(control): State<AppState>,
    Path(id): Path<DataConsumerId>,
) -> Result<axum::Json<DataConsumerInfo>, ApiError> {
    Ok(axum::Json(control.data_consumer(id).await?))
}

/// Closes a data consumer.
#[utoipa::path(delete, path = "/data-consumers/{dataConsumerId}", tag = "data",
    params(("dataConsumerId" = DataConsumerId, Path, description = "Data consumer id")),
    responses((status = 204, description = "Data consumer closed")))]
async fn delete_data_consumer(
    State(control): State<AppState>,
    Path(id): Path<DataConsumerId>,
) -> Result<StatusCode, ApiError> {
    control.close_data_consumer(id).await?;
    Ok(StatusCode::NO_CONTENT)
}
