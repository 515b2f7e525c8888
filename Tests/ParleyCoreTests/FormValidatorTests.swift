import Foundation
import Testing
@testable import ParleyCore

@Suite("Pre-chat form validation")
struct FormValidatorTests {
    let fields = FormField.defaults + [
        FormField(id: "topic", type: .category, label: "Topic", required: false, options: ["Orders", "Returns"]),
        FormField(id: "phone", type: .phone, label: "Phone", required: false, maxLength: 30),
    ]
    let valid = ["name": "Ann", "email": "ann@example.com", "message": "Where is my parcel?"]

    private func errors(_ answers: [String: String]) -> [String: String] {
        do {
            _ = try FormValidator.validate(answers, fields: fields)
            return [:]
        } catch {
            return invalidFields(error as? ParleyError) ?? ["<not .invalid>": "\(error)"]
        }
    }

    @Test func validAnswersAreTrimmedAndEmailLowercased() throws {
        let clean = try FormValidator.validate(
            ["name": "  Ann Smith ", "email": " Ann.Smith@Example.COM\n", "message": "\n Hello \n", "subject": "", "topic": "Returns"],
            fields: fields)
        #expect(clean == ["name": "Ann Smith", "email": "ann.smith@example.com", "message": "Hello", "topic": "Returns"])
    }

    @Test func requiredEmptyFieldCannotBeEmpty() {
        let e = errors(["name": "   ", "email": "ann@example.com"])
        #expect(e["name"] == "Name cannot be empty.")
        #expect(e["message"] == "Message cannot be empty.")
        #expect(e["email"] == nil)
        #expect(e["subject"] == nil)  // optional
    }

    @Test(arguments: ["ann", "ann@", "@example.com", "ann@example", "ann@@example.com", "ann smith@example.com",
                      "ann@example..com", "ann@.example.com", "<ann@example.com>", "a,b@example.com"])
    func invalidEmailIsRefused(email: String) {
        let e = errors(valid.merging(["email": email]) { _, b in b })
        #expect(e["email"] == "Email is not a valid email address.")
        #expect(e.count == 1)
    }

    @Test func tooLongAnswerIsRefused() {
        let e = errors(valid.merging(["name": String(repeating: "x", count: 81)]) { _, b in b })
        #expect(e["name"]?.contains("too long") == true)
        #expect(e["name"]?.contains("80") == true)
        let ok = errors(valid.merging(["name": String(repeating: "x", count: 80)]) { _, b in b })
        #expect(ok.isEmpty)
    }

    @Test func unknownFieldIsRefused() {
        let e = errors(valid.merging(["isAdmin": "true"]) { _, b in b })
        #expect(e == ["isAdmin": "Unknown field."])
    }

    @Test func categoryMustBeOneOfItsOptions() {
        let e = errors(valid.merging(["topic": "Refunds"]) { _, b in b })
        #expect(e["topic"] == "Topic must be one of: Orders, Returns.")
        #expect(errors(valid.merging(["topic": "Orders"]) { _, b in b }).isEmpty)
    }

    @Test func phoneNumberIsChecked() {
        #expect(errors(valid.merging(["phone": "+33 (0)1 23-45.67"]) { _, b in b }).isEmpty)
        #expect(errors(valid.merging(["phone": "call me"]) { _, b in b })["phone"] != nil)
        #expect(errors(valid.merging(["phone": "12"]) { _, b in b })["phone"] != nil)
    }

    @Test func controlCharactersAreRefusedButNewlinesAllowed() {
        #expect(errors(valid.merging(["name": "Ann\u{07}"]) { _, b in b })["name"]?.contains("control") == true)
        #expect(errors(valid.merging(["message": "line one\nline two\ttab"]) { _, b in b }).isEmpty)
    }

    @Test func everyBadFieldIsNamedAtOnce() {
        let e = errors(["email": "nope", "extra": "x"])
        #expect(Set(e.keys) == ["name", "email", "message", "extra"])
    }

    @Test func widgetDecodesWithDefaultsForMissingKeys() throws {
        let w = try JSONDecoder().decode(Widget.self, from: Data(##"{"id":"shop","color":"#000000","unknown":1}"##.utf8))
        #expect(w.id == "shop")
        #expect(w.name == "shop")
        #expect(w.color == "#000000")
        #expect(w.fields == FormField.defaults)
        #expect(w.maxFiles == 5)
    }

    @Test func widgetOriginsAndIds() {
        var w = Widget(id: "shop", name: "Shop")
        #expect(w.allows(origin: "https://anything.example"))
        w.allowedOrigins = ["https://shop.example"]
        #expect(w.allows(origin: "HTTPS://SHOP.EXAMPLE"))
        #expect(!w.allows(origin: "https://evil.example"))
        #expect(Widget.isValidID("demo_shop-2"))
        #expect(!Widget.isValidID("Demo"))
        #expect(!Widget.isValidID("../x"))
        #expect(!Widget.isValidID(""))
        #expect(!Widget.isValidID(String(repeating: "a", count: 41)))
    }
}
