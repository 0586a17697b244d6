import Foundation
import Postgres
import Web

/// The manage page of a batch (`/manage/{token}` when the token is a batch's): its state and a cancel button.
enum BatchManage {
    static func page(batch: BatchRecord, token: ManageToken, _ request: Request, _ context: RequestContext) throws
        -> Response
    {
        let csrf = CSRF.standard.token(for: request)
        var values: [String: Any] = [
            "title": "Manage your batch",
            "description": "Private controls of a Marketlens batch.",
            "csrfToken": csrf.value,
            "action": "/manage/\(token.value)",
            "batch": [
                "id": batch.publicID, "goal": batch.researchGoal, "status": batch.status,
                "domains": batch.domainCount, "active": !batch.isFinished,
            ] as [String: Any],
        ]
        if let notice = ManageController.noticeText(request) { values["notice"] = notice }
        var response = ManageController.privateResponse(try context.renderPage("manage", values))
        if let cookie = csrf.setCookie { response.headers.add("Set-Cookie", cookie) }
        return response
    }

    static func act(_ action: String, batch: BatchRecord, token: ManageToken, _ context: RequestContext) throws
        -> Response
    {
        guard action == "cancel" else { throw HTTPError.badRequest("Unknown action.", code: "unknown_action") }
        guard try context.database.withConnection({ try BatchStore.cancel(batchID: batch.id, on: $0) }) else {
            throw HTTPError(status: 409, code: "conflict", message: "The batch has already finished.")
        }
        context.logger.info("batch cancelled by its owner", metadata: ["batch": "\(batch.publicID)"])
        return ManageController.privateResponse(
            try Response.redirect(to: "/manage/\(token.value)?done=cancelled", status: .seeOther))
    }
}
