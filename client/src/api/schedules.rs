use reqwest::Method;

use crate::retry::Idempotency;
use crate::types::schedules::{CreateSchedule, Schedule, ScheduleList, UpdateSchedule};
use crate::{Client, Error};

impl Client {
    /// (ext) `POST /schedules`: a cron schedule; [`Error::is_conflict`] if the name is taken.
    pub async fn create_schedule(&self, schedule: &CreateSchedule) -> Result<Schedule, Error> {
        let call = self.call(Method::POST, self.api_url(&["schedules"])?).json(schedule);
        self.send(call).await?.decode()
    }

    /// (ext) `GET /schedules`: every schedule, by name.
    pub async fn list_schedules(&self) -> Result<Vec<Schedule>, Error> {
        let call = self.call(Method::GET, self.api_url(&["schedules"])?).idempotency(Idempotency::Idempotent);
        Ok(self.send(call).await?.decode::<ScheduleList>()?.schedules)
    }

    /// (ext) `GET /schedules/{name}`, with its next fire times.
    pub async fn get_schedule(&self, name: &str) -> Result<Schedule, Error> {
        let call = self.call(Method::GET, self.api_url(&["schedules", name])?).idempotency(Idempotency::Idempotent);
        self.send(call).await?.decode()
    }

    /// (ext) `PATCH /schedules/{name}`.
    pub async fn update_schedule(&self, name: &str, update: &UpdateSchedule) -> Result<Schedule, Error> {
        // The same patch twice leaves the same schedule: the server restarts
        // the ticks only for a different expression or zone, or a resume.
        let call = self
            .call(Method::PATCH, self.api_url(&["schedules", name])?)
            .json(update)
            .idempotency(Idempotency::Idempotent);
        self.send(call).await?.decode()
    }

    /// (ext) Pauses a schedule: nothing fires until it is resumed.
    pub async fn pause_schedule(&self, name: &str) -> Result<Schedule, Error> {
        self.update_schedule(name, &UpdateSchedule { paused: Some(true), ..UpdateSchedule::default() }).await
    }

    /// (ext) Resumes a schedule from its first tick after now.
    pub async fn resume_schedule(&self, name: &str) -> Result<Schedule, Error> {
        self.update_schedule(name, &UpdateSchedule { paused: Some(false), ..UpdateSchedule::default() }).await
    }

    /// (ext) `DELETE /schedules/{name}`; the tasks it fired stay.
    pub async fn delete_schedule(&self, name: &str) -> Result<(), Error> {
        let call = self.call(Method::DELETE, self.api_url(&["schedules", name])?).idempotency(Idempotency::Idempotent);
        self.send(call).await?.expect_success()
    }
}
